// The F5 BIG-IP provider the benchmark's anchor runs (tests/bench_anchors/install.sh builds it).
module aovpn-iac/bench-anchors/bigip

go 1.26.6

require github.com/F5Networks/terraform-provider-bigip v1.22.0
