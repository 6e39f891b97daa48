"""VPN panels and their adapters (3x-ui, Marzban, PasarGuard): panels are data; accounts are
created, extended, limited, disabled and read on them through the shop's Provisioner seam."""
