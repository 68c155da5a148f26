"""Airflow operators for Salesforce. Each is thin: validate arguments, call the client, report results."""
