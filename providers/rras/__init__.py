"""Windows Server RRAS over PowerShell Remoting (pypsrp): IPsec policy, registry values, rolling restarts."""
