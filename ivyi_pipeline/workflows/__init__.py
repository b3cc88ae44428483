"""Cross-feature processes; the seed's workflows/ folder."""
