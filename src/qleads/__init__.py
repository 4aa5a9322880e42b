"""qleads: lead distribution for installer networks."""
