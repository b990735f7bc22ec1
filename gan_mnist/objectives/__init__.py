"""What the networks are trained to minimise: adversarial losses (`losses`) and gradient penalties (`penalties`)."""
