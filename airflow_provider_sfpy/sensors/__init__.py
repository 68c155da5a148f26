"""Sensors for Salesforce work started elsewhere."""
