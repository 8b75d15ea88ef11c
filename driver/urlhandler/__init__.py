"""pyserial URL handlers that the driver adds (``faulty://``, ``tls://``)."""
