"""Salesforce REST client, usable without Airflow.

from airflow_provider_sfpy import client as sfpy
c = sfpy.client(username, password, client_id, client_secret, login_url="login.salesforce.com")
c.login()
body, response = c.query("SELECT Id FROM Account")
"""

from airflow_provider_sfpy.client.apex import ApexCompileError, ApexExecutionError, raise_for_apex_result
from airflow_provider_sfpy.client.auth import (
    AuthFlow,
    ClientCredentialsFlow,
    JwtBearerFlow,
    PasswordFlow,
    RefreshTokenFlow,
    SessionFlow,
    Token,
)
from airflow_provider_sfpy.client.client import Client, client
from airflow_provider_sfpy.client.errors import (
    SalesforceApiQuotaGuardError,
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceConnectionError,
    SalesforceDeadlineError,
    SalesforceError,
    SalesforceLimitExceededError,
    SalesforceMalformedQueryError,
    SalesforceMalformedRequestError,
    SalesforceMultipleChoicesError,
    SalesforceNotFoundError,
    SalesforceOutcomeUnknownError,
    SalesforceProtocolError,
    SalesforceRefusedError,
    SalesforceServerError,
    SalesforceSessionExpiredError,
    SalesforceUnknownObjectError,
    SalesforceUnsafeUrlError,
)
from airflow_provider_sfpy.client.query import QueryStream
from airflow_provider_sfpy.client.quota import MaxApiUsage
from airflow_provider_sfpy.client.result import ApiUsage, ResponseInfo, Result
from airflow_provider_sfpy.client.retry import NO_RETRY, RetryPolicy

__all__ = [
    "NO_RETRY",
    "ApexCompileError",
    "ApexExecutionError",
    "ApiUsage",
    "AuthFlow",
    "Client",
    "ClientCredentialsFlow",
    "JwtBearerFlow",
    "MaxApiUsage",
    "PasswordFlow",
    "QueryStream",
    "RefreshTokenFlow",
    "ResponseInfo",
    "Result",
    "RetryPolicy",
    "SalesforceApiQuotaGuardError",
    "SalesforceAuthError",
    "SalesforceConfigError",
    "SalesforceConnectionError",
    "SalesforceDeadlineError",
    "SalesforceError",
    "SalesforceLimitExceededError",
    "SalesforceMalformedQueryError",
    "SalesforceMalformedRequestError",
    "SalesforceMultipleChoicesError",
    "SalesforceNotFoundError",
    "SalesforceOutcomeUnknownError",
    "SalesforceProtocolError",
    "SalesforceRefusedError",
    "SalesforceServerError",
    "SalesforceSessionExpiredError",
    "SalesforceUnknownObjectError",
    "SalesforceUnsafeUrlError",
    "SessionFlow",
    "Token",
    "client",
    "raise_for_apex_result",
]
