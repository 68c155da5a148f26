"""The composite resources' request logic: ``/composite`` (subrequests that refer to each other's
results), ``/composite/batch`` (independent subrequests) and ``/composite/tree/{object}`` (nested
records created all or nothing). ``routes/composite_requests.py`` serves them; sObject Collections
(``/composite/sobjects``) is ``routes/composite.py``.

Subrequests are not re-implemented: ``subrequests.dispatch`` sends each through the application's own
routes, in process, with the caller's session, so a subrequest answers exactly what the same request
sent on its own would.
"""
