"""Products and prices: Product2, Pricebook2, PricebookEntry and OpportunityLineItem.

Fields follow the Field Reference and the Object Reference:
- https://developer.salesforce.com/docs/atlas.en-us.194.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_Product2.htm
- https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-pricebookentry.html
- https://developer.salesforce.com/docs/atlas.en-us.228.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_OpportunityLineItem.htm
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_pricebook2.htm

Representative subsets:
- Product2: Name, ProductCode, Description, Family, IsActive, QuantityUnitOfMeasure, StockKeepingUnit.
- Pricebook2: Name, Description, IsActive, IsStandard (read-only; every org has one standard book).
- PricebookEntry: Pricebook2Id, Product2Id, UnitPrice, IsActive, UseStandardPrice. Its read-only
  ``Name`` and ``ProductCode`` copies of the product's are left out rather than left stale.
- OpportunityLineItem: OpportunityId, PricebookEntryId, Product2Id, Quantity, UnitPrice, TotalPrice,
  Subtotal, Discount, ServiceDate, Description. ``ListPrice`` and ``Name`` (copied from the entry and
  product) are left out, and the opportunity's ``Amount`` is not rolled up from its line items.
Deleting a product or a price book deletes its entries; deleting an opportunity its line items.
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.objects.model import FieldDef, computed, picklist, ref, sobject

STANDARD_PRICE_BOOK = "Standard Price Book"

PRODUCT = sobject(
    "Product2",
    "01t",
    [
        FieldDef("Name", "string", "Product Name", 255, nillable=False),
        FieldDef("ProductCode", "string", "Product Code", 255),
        FieldDef("Description", "textarea", "Product Description", 4000),
        picklist("Family", "Product Family", ()),
        FieldDef("IsActive", "boolean", "Active", default=False),
        picklist("QuantityUnitOfMeasure", "Quantity Unit Of Measure", ("Each",)),
        FieldDef("StockKeepingUnit", "string", "Product SKU", 180),
    ],
    label="Product",
    with_owner=False,
)

PRICEBOOK = sobject(
    "Pricebook2",
    "01s",
    [
        FieldDef("Name", "string", "Price Book Name", 255, nillable=False),
        FieldDef("Description", "string", "Description", 255),
        FieldDef("IsActive", "boolean", "Active", default=False),
        computed("IsStandard", "boolean", "Is Standard Price Book", default=False),
    ],
    label="Price Book",
    with_owner=False,
)

PRICEBOOK_ENTRY = sobject(
    "PricebookEntry",
    "01u",
    [
        ref(
            "Pricebook2Id",
            "Pricebook2",
            "Pricebook2",
            label="Price Book ID",
            nillable=False,
            updateable=False,
            child="PricebookEntries",
            cascade=True,
        ),
        ref(
            "Product2Id",
            "Product2",
            "Product2",
            label="Product ID",
            nillable=False,
            updateable=False,
            child="PricebookEntries",
            cascade=True,
        ),
        FieldDef("UnitPrice", "currency", "List Price", nillable=False, precision=18, scale=2),
        FieldDef("IsActive", "boolean", "Active", default=False),
        FieldDef("UseStandardPrice", "boolean", "Use Standard Price", default=False),
    ],
    label="Price Book Entry",
    plural="Price Book Entries",
    with_owner=False,
    name_field=None,
)

OPPORTUNITY_LINE_ITEM = sobject(
    "OpportunityLineItem",
    "00k",
    [
        ref(
            "OpportunityId",
            "Opportunity",
            "Opportunity",
            label="Opportunity ID",
            nillable=False,
            updateable=False,
            child="OpportunityLineItems",
            cascade=True,
        ),
        ref(
            "PricebookEntryId",
            "PricebookEntry",
            "PricebookEntry",
            label="Price Book Entry ID",
            nillable=False,
            updateable=False,
            child="OpportunityLineItems",
        ),
        ref("Product2Id", "Product2", "Product2", label="Product ID", updateable=False),
        FieldDef("Quantity", "double", "Quantity", nillable=False, precision=12, scale=2),
        FieldDef("UnitPrice", "currency", "Sales Price", precision=18, scale=2),
        FieldDef("TotalPrice", "currency", "Total Price", precision=18, scale=2),
        computed("Subtotal", "currency", "Subtotal", precision=18, scale=2),
        FieldDef("Discount", "percent", "Discount", precision=5, scale=2),
        FieldDef("ServiceDate", "date", "Date"),
        FieldDef("Description", "string", "Line Description", 255),
    ],
    label="Opportunity Product",
    with_owner=False,
    name_field=None,
)

PRODUCT_OBJECTS = (PRODUCT, PRICEBOOK, PRICEBOOK_ENTRY, OPPORTUNITY_LINE_ITEM)
