"""Turning Salesforce records into files (CSV, JSON Lines, Parquet), streamed. No Airflow, no HTTP."""
