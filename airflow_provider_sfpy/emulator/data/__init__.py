"""Records the emulated org starts with: what every org has (``org_fixtures``) and the small
hand-shaped sample of leads, cases, activities, campaigns and products (``crm_sample``) that
``sample_data.load_sample_data`` adds next to its accounts, contacts and opportunities."""
