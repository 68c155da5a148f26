"""Sales objects: Account, Contact, Opportunity, Lead, Campaign and CampaignMember.

Field names, types, lengths and labels follow Salesforce's Field Reference and Object Reference
(required fields, read-only fields, idLookup); picklists carry the values a new org ships with:
- https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html
- https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-campaign.html
- https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-campaignmember.html
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm

Each object holds a representative subset of its standard fields (the ones listed below), not all of
them: no address compound fields, Data.com, Einstein, cadence or currency fields.
- Lead: name parts, Company, Title, Email (idLookup), phones, Website, address parts, Status,
  LeadSource, Industry, Rating, AnnualRevenue, NumberOfEmployees, Description, opt-outs, the
  conversion fields (read-only) and LastActivityDate.
- Campaign: Name, ParentId, Type, Status, dates, revenue and cost figures, ExpectedResponse,
  NumberSent, IsActive, Description (no roll-up counters: the emulator does not maintain them).
- CampaignMember: CampaignId, LeadId, ContactId, Status, HasResponded, FirstRespondedDate.
``External_Id__c`` on Account and Contact and ``Active__c`` on Account are the sample org's custom
fields. ``Contact.Email`` and ``Lead.Email`` are idLookup fields, as in every org: they are neither
unique nor case-sensitive, so an upsert by email that matches two people answers 300.
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.objects.model import FieldDef, computed, picklist, ref, sobject

INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Education",
    "Electronics",
    "Energy",
    "Finance",
    "Technology",
)
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
RATINGS = ("Hot", "Warm", "Cold")
CAMPAIGN_TYPES = (
    "Conference",
    "Webinar",
    "Trade Show",
    "Public Relations",
    "Partners",
    "Referral Program",
    "Advertisement",
    "Banner Ads",
    "Direct Mail",
    "Email",
    "Telemarketing",
    "Other",
)
CAMPAIGN_STATUSES = ("Planned", "In Progress", "Completed", "Aborted")
#: The member statuses a new campaign starts with; "Responded" sets ``HasResponded``.
MEMBER_STATUSES = ("Sent", "Responded")
RESPONDED_STATUSES = frozenset({"Responded"})


def _email(label: str = "Email", *, lookup: bool = False) -> FieldDef:
    return FieldDef("Email", "email", label, 80, id_lookup=lookup)


ACCOUNT = sobject(
    "Account",
    "001",
    [
        FieldDef("Name", "string", "Account Name", 255, nillable=False),
        FieldDef("AccountNumber", "string", "Account Number", 40),
        picklist("Type", "Account Type", ("Prospect", "Customer", "Partner")),
        picklist("Industry", "Industry", INDUSTRIES),
        FieldDef("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "int", "Employees", precision=8),
        picklist("Rating", "Account Rating", RATINGS),
        FieldDef("Phone", "phone", "Account Phone", 40),
        FieldDef("Website", "url", "Website", 255),
        FieldDef("Description", "textarea", "Account Description", 32000),
        FieldDef("BillingStreet", "textarea", "Billing Street", 255),
        FieldDef("BillingCity", "string", "Billing City", 40),
        FieldDef("BillingState", "string", "Billing State/Province", 80),
        FieldDef("BillingPostalCode", "string", "Billing Zip/Postal Code", 20),
        FieldDef("BillingCountry", "string", "Billing Country", 80),
        ref("ParentId", "Account", "Parent", label="Parent Account ID", child="ChildAccounts"),
        FieldDef("External_Id__c", "string", "External Id", 255, external_id=True, unique=True, case_sensitive=True),
        FieldDef("Active__c", "boolean", "Active", default=True),
        computed("LastActivityDate", "date", "Last Activity"),
    ],
    plural="Accounts",
    feed_enabled=True,
    mergeable=True,
)

CONTACT = sobject(
    "Contact",
    "003",
    [
        ref("AccountId", "Account", "Account", label="Account ID", child="Contacts", cascade=True),
        FieldDef("FirstName", "string", "First Name", 40),
        FieldDef("LastName", "string", "Last Name", 80, nillable=False),
        computed("Name", "string", "Full Name", 121),
        _email(lookup=True),
        FieldDef("Phone", "phone", "Business Phone", 40),
        FieldDef("Title", "string", "Title", 128),
        FieldDef("Birthdate", "date", "Birthdate"),
        FieldDef("MailingCity", "string", "Mailing City", 40),
        FieldDef("MailingCountry", "string", "Mailing Country", 80),
        FieldDef("HasOptedOutOfEmail", "boolean", "Email Opt Out", default=False),
        FieldDef("External_Id__c", "string", "External Id", 255, external_id=True, unique=True, case_sensitive=True),
    ],
    feed_enabled=True,
    mergeable=True,
)

OPPORTUNITY = sobject(
    "Opportunity",
    "006",
    [
        ref("AccountId", "Account", "Account", label="Account ID", child="Opportunities", cascade=True),
        FieldDef("Name", "string", "Name", 120, nillable=False),
        picklist("StageName", "Stage", STAGES, nillable=False),
        FieldDef("Amount", "currency", "Amount", precision=18, scale=2),
        FieldDef("Probability", "percent", "Probability (%)", precision=3),
        FieldDef("CloseDate", "date", "Close Date", nillable=False),
        computed("IsClosed", "boolean", "Closed", default=False),
        computed("IsWon", "boolean", "Won", default=False),
        picklist("Type", "Opportunity Type", ("New Business", "Existing Business")),
        picklist("LeadSource", "Lead Source", ("Web", "Phone Inquiry", "Partner")),
        FieldDef("Description", "textarea", "Description", 32000),
        ref("CampaignId", "Campaign", "Campaign", label="Campaign ID", child="Opportunities"),
        ref("Pricebook2Id", "Pricebook2", "Pricebook2", label="Price Book ID", child="Opportunities"),
    ],
    plural="Opportunities",
    feed_enabled=True,
)

LEAD = sobject(
    "Lead",
    "00Q",
    [
        picklist("Salutation", "Salutation", SALUTATIONS),
        FieldDef("FirstName", "string", "First Name", 40),
        FieldDef("LastName", "string", "Last Name", 80, nillable=False),
        computed("Name", "string", "Full Name", 121),
        FieldDef("Title", "string", "Title", 128),
        FieldDef("Company", "string", "Company", 255, nillable=False),
        _email(lookup=True),
        FieldDef("Phone", "phone", "Phone", 40),
        FieldDef("MobilePhone", "phone", "Mobile Phone", 40),
        FieldDef("Website", "url", "Website", 255),
        FieldDef("Street", "textarea", "Street", 255),
        FieldDef("City", "string", "City", 40),
        FieldDef("State", "string", "State/Province", 80),
        FieldDef("PostalCode", "string", "Zip/Postal Code", 20),
        FieldDef("Country", "string", "Country", 80),
        picklist("Status", "Status", LEAD_STATUSES, default=LEAD_STATUSES[0], nillable=False),
        picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        picklist("Industry", "Industry", INDUSTRIES),
        picklist("Rating", "Rating", RATINGS),
        FieldDef("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "int", "Employees", precision=8),
        FieldDef("Description", "textarea", "Description", 32000),
        FieldDef("HasOptedOutOfEmail", "boolean", "Email Opt Out", default=False),
        FieldDef("DoNotCall", "boolean", "Do Not Call", default=False),
        computed("IsConverted", "boolean", "Converted", default=False),
        computed("ConvertedDate", "date", "Converted Date"),
        ref(
            "ConvertedAccountId",
            "Account",
            "ConvertedAccount",
            label="Converted Account ID",
            createable=False,
            updateable=False,
        ),
        ref(
            "ConvertedContactId",
            "Contact",
            "ConvertedContact",
            label="Converted Contact ID",
            createable=False,
            updateable=False,
        ),
        ref(
            "ConvertedOpportunityId",
            "Opportunity",
            "ConvertedOpportunity",
            label="Converted Opportunity ID",
            createable=False,
            updateable=False,
        ),
        computed("LastActivityDate", "date", "Last Activity"),
    ],
    feed_enabled=True,
    mergeable=True,
)

CAMPAIGN = sobject(
    "Campaign",
    "701",
    [
        FieldDef("Name", "string", "Name", 80, nillable=False),
        ref("ParentId", "Campaign", "Parent", label="Parent Campaign ID", child="ChildCampaigns"),
        picklist("Type", "Type", CAMPAIGN_TYPES),
        picklist("Status", "Status", CAMPAIGN_STATUSES),
        FieldDef("StartDate", "date", "Start Date"),
        FieldDef("EndDate", "date", "End Date"),
        FieldDef("ExpectedRevenue", "currency", "Expected Revenue in Campaign", precision=18, scale=0),
        FieldDef("BudgetedCost", "currency", "Budgeted Cost in Campaign", precision=18, scale=0),
        FieldDef("ActualCost", "currency", "Actual Cost in Campaign", precision=18, scale=0),
        FieldDef("ExpectedResponse", "percent", "Expected Response (%)", precision=10, scale=2),
        FieldDef("NumberSent", "double", "Num Sent in Campaign", precision=18, scale=0),
        FieldDef("IsActive", "boolean", "Active", default=False),
        FieldDef("Description", "textarea", "Description", 32000),
        computed("LastActivityDate", "date", "Last Activity"),
    ],
    feed_enabled=True,
)

CAMPAIGN_MEMBER = sobject(
    "CampaignMember",
    "00v",
    [
        ref(
            "CampaignId",
            "Campaign",
            "Campaign",
            label="Campaign ID",
            nillable=False,
            updateable=False,
            child="CampaignMembers",
            cascade=True,
        ),
        ref("LeadId", "Lead", "Lead", label="Lead ID", updateable=False, child="CampaignMembers", cascade=True),
        ref(
            "ContactId",
            "Contact",
            "Contact",
            label="Contact ID",
            updateable=False,
            child="CampaignMembers",
            cascade=True,
        ),
        picklist("Status", "Status", MEMBER_STATUSES, default=MEMBER_STATUSES[0]),
        computed("HasResponded", "boolean", "Responded", default=False),
        computed("FirstRespondedDate", "date", "First Responded Date"),
    ],
    label="Campaign Member",
    with_owner=False,
    name_field=None,
)

SALES_OBJECTS = (ACCOUNT, CONTACT, OPPORTUNITY, LEAD, CAMPAIGN, CAMPAIGN_MEMBER)
