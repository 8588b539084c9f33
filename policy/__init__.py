"""Generation policy: deny-by-default decisions and signed generation tickets. No Django."""
