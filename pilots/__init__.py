"""factorypilot.pilots"""
