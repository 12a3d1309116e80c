"""OKX: nautilus's own OKX clients trade it; this package holds RaveBear's local OKX v5 venue for rehearsals and tests."""
