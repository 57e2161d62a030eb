// Command pulumi-language-python is the Python language host the project's Pulumi CLI uses.
//
// Why the project has its own: Pulumi publishes its Python language host as a Go module of its own
// (sdk/python/cmd/pulumi-language-python/v3) with no version tags, and the Go module proxy these machines
// reach does not serve it. The CLI itself, the SDK and the SDK's Python toolchain package are served, so
// this host is written against those public APIs (see docs/pulumi-engine.md, "The Python language host").
//
// What it does is the contract of a Pulumi language host for a Python program whose resources are all
// dynamic providers:
//   - Run: resolve the project's Python toolchain (runtime.options of Pulumi.yaml: toolchain and
//     virtualenv, through the SDK's toolchain package, which refuses a missing or broken venv), then run
//     the SDK's executor script (pulumi-language-python-exec, installed beside this binary) with the
//     engine's monitor address and the stack's config in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS.
//     Exit code 32 of the executor means "a message was already shown": the run bails without adding one.
//   - InstallDependencies (`pulumi install`), About, GetProgramDependencies: through the same toolchain.
//   - GetRequiredPlugins / GetRequiredPackages: none. Dynamic providers run in the pulumi-python resource
//     plugin (the SDK's pulumi-resource-pulumi-python script, also installed beside this binary); the
//     project uses no provider plugin that would have to be downloaded.
//
// Anything else (code generation, Python plugins and policy packs, debugging) answers Unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set at build time (-ldflags "-X main.version=vX"), to the release of the CLI it ships with.
var version = "dev"

const (
	executorName = "pulumi-language-python-exec"
	// The executor's exit code for "the error was already reported to the user".
	exitShownToUser = 32
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	executor string
	engine   string
	cancel   context.Context
	stop     context.CancelFunc
}

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.String("tracing", "", "accepted for compatibility; tracing is not emitted")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}

	self, err := os.Executable()
	if err != nil {
		fail(fmt.Errorf("cannot locate this executable: %w", err))
	}
	executor := filepath.Join(filepath.Dir(self), executorName)
	if _, err := os.Stat(executor); err != nil {
		fail(fmt.Errorf("missing executor %s beside the language host: %w", executor, err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	h := &host{executor: executor, cancel: ctx, stop: cancel}
	if flag.NArg() > 0 {
		h.engine = flag.Arg(0)
	}

	// The host stops on an interrupt, and when the engine goes away (the health check), as every plugin does.
	life, quit := signal.NotifyContext(context.Background(), os.Interrupt)
	defer quit()
	done := make(chan bool)
	go func() {
		<-life.Done()
		cancel()
		close(done)
	}()
	if h.engine != "" {
		if err := rpcutil.Healthcheck(life, h.engine, 5*time.Minute, quit); err != nil {
			fail(fmt.Errorf("cannot start the engine health check: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: done,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fail(fmt.Errorf("cannot serve the language host: %w", err))
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fail(fmt.Errorf("the language host stopped serving: %w", err))
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
	os.Exit(1)
}

// pythonOptions reads runtime.options of Pulumi.yaml the way the documented schema defines them.
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	if info == nil {
		return toolchain.PythonOptions{}, errors.New("the engine sent no program info")
	}
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	options := info.GetOptions().AsMap()
	if raw, ok := options["virtualenv"]; ok {
		venv, isString := raw.(string)
		if !isString {
			return opts, errors.New("runtime option virtualenv must be a string")
		}
		opts.Virtualenv = venv
	}
	if raw, ok := options["toolchain"]; ok {
		switch raw {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		case "uv":
			opts.Toolchain = toolchain.Uv
		default:
			return opts, fmt.Errorf("runtime option toolchain %v is not one of pip, poetry, uv", raw)
		}
	}
	if _, ok := options["typechecker"]; ok {
		return opts, errors.New("runtime option typechecker is not supported by this language host; " +
			"run mypy before pulumi instead")
	}
	return opts, nil
}

// toolchainFor resolves the program's Python toolchain from its runtime options.
func toolchainFor(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts, err := pythonOptions(info)
	if err != nil {
		return nil, err
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engine = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.stop()
	return &emptypb.Empty{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "debugging is not supported by this language host"}, nil
	}
	tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	args := []string{h.executor}
	flagIfSet := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagIfSet("monitor", req.GetMonitorAddress())
	flagIfSet("engine", h.engine)
	flagIfSet("project", req.GetProject())
	flagIfSet("root_directory", req.GetInfo().GetRootDirectory())
	flagIfSet("stack", req.GetStack())
	flagIfSet("pwd", req.GetPwd())
	flagIfSet("dry_run", fmt.Sprint(req.GetDryRun()))
	flagIfSet("parallel", fmt.Sprint(req.GetParallel()))
	flagIfSet("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("cannot encode the stack config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the secret config keys: %w", err)
	}

	// The program stops when the engine cancels or the request ends.
	runCtx, cancelRun := context.WithCancel(h.cancel)
	defer cancelRun()
	context.AfterFunc(ctx, cancelRun)
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secrets))

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.ExitStatus() == exitShownToUser {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with code %d", exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the Python executor: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return err
	}
	out := streamWriter{send: func(b []byte) error {
		return stream.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	}}
	errOut := streamWriter{send: func(b []byte) error {
		return stream.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	}}
	return tc.InstallDependencies(stream.Context(), req.GetInfo().GetRootDirectory(),
		req.GetUseLanguageVersionTools(), true, out, errOut)
}

type streamWriter struct{ send func([]byte) error }

func (w streamWriter) Write(p []byte) (int, error) {
	chunk := append([]byte(nil), p...)
	if err := w.send(chunk); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
		Metadata:   map[string]string{"toolchain": toolchain.Name(opts.Toolchain)},
	}, nil
}

func (h *host) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	packages, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(packages))
	for _, pkg := range packages {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: pkg.Name, Version: pkg.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func (h *host) RunPlugin(
	*pulumirpc.RunPluginRequest, grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	return status.Error(codes.Unimplemented,
		"Python plugins and policy packs are not supported by this language host")
}
