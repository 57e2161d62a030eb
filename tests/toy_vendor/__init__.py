"""A toy fourth load balancer, to prove the vendor contract: its own twin (``twin``), client and provider
(``provider``) and component (``component``), wired into the project by one registry entry
(``components.registry.register(component.ToyBalancer())``) and nothing else; its provider contract
cases are tests/providers/contract_cases/toy.py."""
