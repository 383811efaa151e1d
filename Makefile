.PHONY: setup dev test
setup: ; ./scripts/setup
dev: ; ./scripts/dev
test: ; ./scripts/test
