"""The SOAP API's session calls: partner (``/services/Soap/u/XX.X``) and enterprise (``/services/Soap/c/XX.X``)
``login()`` and ``logout()``, as simple-salesforce, the official Airflow provider and jsforce use them.

Only what those default logins need is served: ``login`` checks the same credentials as the OAuth
password flow (username, password + security token) and opens a session in the same registry, so a
SOAP ``sessionId`` works as a REST ``Bearer`` token and ``logout`` ends OAuth sessions too. Every
other operation is answered with the fault Salesforce gives for an operation it does not know.

Modules: ``xml_input`` (safe parsing), ``apis`` (partner vs enterprise), ``faults`` (SOAP faults),
``envelope`` (reading a request), ``messages`` (writing a response), ``user_info`` (LoginResult's
``userInfo``), ``calls`` (the operations). The route is ``routes/soap.py``.
"""
