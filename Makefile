# day2: the two commands of the README, and a few helpers.
#   make test   installs what is missing, builds, runs every test (CTest) and the fuzzers
#   make demo   installs what is missing, builds, starts a local 3-node cluster behind Adminrouter
#               and the console
BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all deps configure build test unit fuzz demo demo-down demo-node bench bench-logs bench-tasks bench-statsd bench-metrics bench-exec bench-console bench-metrics-chart bench-terminal package clean

all: build

deps:
	@packaging/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: configure
	@ninja -C $(BUILD) -j$(JOBS)

unit: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 900

fuzz: deps
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDAY2_BUILD_TESTS=OFF -DDAY2_BUILD_FUZZ=ON >/dev/null
	@ninja -C $(FUZZ_BUILD) -j$(JOBS) log_query_fuzz task_request_fuzz auth_fuzz statsd_fuzz exec_protocol_fuzz
	@cd $(FUZZ_BUILD) && ctest --output-on-failure

test: unit fuzz

# The Debian packages (day2-agent, day2-adminrouter, day2-console, day2-cli) in $(BUILD)/packages.
package: build
	@cd $(BUILD) && cpack

demo: build
	@packaging/demo/cluster run --build $(BUILD)

demo-down:
	@packaging/demo/cluster down

demo-node: build
	@packaging/demo/logs-demo.sh $(BUILD)

bench: bench-logs bench-tasks bench-statsd bench-metrics bench-exec bench-console bench-metrics-chart bench-terminal

bench-logs: build
	@tests/bench/logs_bench.sh $(BUILD)

bench-tasks: build
	@tests/bench/tasks_bench.sh $(BUILD)

bench-statsd: build
	@tests/bench/statsd_bench.sh $(BUILD)

bench-metrics: build
	@tests/bench/metrics_overhead.sh $(BUILD)

bench-exec: build
	@tests/bench/exec_bench.sh $(BUILD)

bench-console: build
	@tests/bench/console_bench.sh $(BUILD)

bench-metrics-chart: build
	@tests/bench/metrics_chart_bench.sh $(BUILD)

bench-terminal: build
	@tests/bench/terminal_bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
