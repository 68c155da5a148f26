"""The standard objects of the emulated org, one module per family, and what Salesforce derives on save.

``model`` holds the field and object definitions; ``sales``, ``service``, ``activities``,
``products``, ``files`` and ``org`` declare the objects (each module says which fields it models and
cites the Object Reference pages it follows); ``derived`` computes the read-only fields Salesforce
fills in. ``schema.SCHEMA`` gathers them into the registry the rest of the emulator reads.
"""
