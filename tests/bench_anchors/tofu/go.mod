// The OpenTofu CLI the benchmark's anchor runs (tests/bench_anchors/install.sh builds cmd/tofu from it).
module aovpn-iac/bench-anchors/tofu

go 1.26.6

require github.com/opentofu/opentofu v1.12.6

// OpenTofu's own go.mod replaces HCL with its fork; a replace applies only in the main module, so it is
// repeated here (github.com/opentofu/opentofu@v1.12.6 go.mod).
replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828
