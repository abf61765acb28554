"""Reusable circuit pieces. Each gadget constrains everything it computes through hints."""
