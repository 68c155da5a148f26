"""``python -m airflow_provider_sfpy.emulator``: same as the ``sfpy-emulator`` command."""

from airflow_provider_sfpy.emulator.cli import main

raise SystemExit(main())
