# The module that carries the aovpn-iac role capability (JEA finds role capabilities only in a
# "RoleCapabilities" folder of a module on $env:PSModulePath: jea/README.md).
@{
    RootModule = 'AovpnRras.psm1'
    ModuleVersion = '1.0.0'
    GUID = 'a4e5974a-9dec-45ff-99f8-e1887e96ed27'
    Author = 'aovpn-iac'
    Description = 'Just Enough Administration role capability for the aovpn-iac automation account on RRAS nodes.'
    PowerShellVersion = '5.1'
    FunctionsToExport = @()
    CmdletsToExport = @()
    VariablesToExport = @()
    AliasesToExport = @()
}
