"""The host driver library: ``Terminal`` (sync), ``AsyncTerminal``, typed results and errors,
a testing helper, and the ``possim`` command line (:mod:`driver.cli`).

The client API arrives with the driver/ issue.
"""
