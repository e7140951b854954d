"""factorypilot.agents"""
