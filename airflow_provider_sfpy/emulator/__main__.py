"""``python -m airflow_provider_sfpy.emulator``: same as the ``sfpy-emulator`` command."""

from airflow_provider_sfpy.emulator import main

raise SystemExit(main())
