# Intentionally empty: the module exists to hold RoleCapabilities\AovpnRras.psrc (jea/README.md).
# The role's two functions are defined in the role capability file itself (FunctionDefinitions).
