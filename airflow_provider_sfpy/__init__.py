"""airflow-provider-sfpy: Salesforce for Apache Airflow, with a local Salesforce emulator."""

from __future__ import annotations

__version__ = "0.1.0"  # keep in step with get_provider_info.VERSION

from airflow_provider_sfpy.get_provider_info import get_provider_info

__all__ = ["__version__", "get_provider_info"]
