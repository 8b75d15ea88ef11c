"""The terminal's secure element: PIN blocks, DUKPT, TR-31 key blocks, MACs, EMV cryptograms
and the key store. Clear PINs and clear keys never leave this package.

Its contents arrive with the keys/ issue; today the package holds nothing but this contract.
"""
