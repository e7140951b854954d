"""factorypilot.knowledge"""
