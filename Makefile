# Shortcuts; the scripts do the work and install what they need.
.PHONY: demo test package deploy-checks

demo:          ## the demo against moto server
	./scripts/demo.sh
test:          ## every test (what CI runs)
	./scripts/test.sh
package:       ## arm64 release builds of the functions, zipped, with their sizes
	./scripts/package.sh
deploy-checks: ## cfn-lint, sam validate --lint, checkov, template/code consistency, package
	./scripts/deploy-checks.sh
