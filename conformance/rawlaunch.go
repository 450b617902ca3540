package conformance

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/rustynet/rustynet/hostapi"
)

// The process cases that hostapi's launcher cannot express (offering other
// protocol versions, calling methods that do not exist, reading the exit
// status, a host without a parent-death signal) launch the plugin with
// go-plugin directly: the same handshake, magic cookie, gRPC and automatic
// mutual TLS, but a raw gRPC connection instead of a hostapi client.

// envWatchStdin is the variable with which hostapi's launcher tells a
// plugin that its stdin is a pipe the host holds open ("1"). hostapi does
// not export the name; it must stay in step with hostapi/handshake.go.
const envWatchStdin = "RUSTYNET_PLUGIN_WATCH_STDIN"

// rawStartTimeout bounds a raw launch's handshake.
const rawStartTimeout = 20 * time.Second

// rawConfig says how to launch a plugin raw.
type rawConfig struct {
	launch   hostapi.LaunchConfig
	kind     Kind
	versions []int // the protocol versions the host offers
	// env is added to the plugin's environment.
	env []string
	// noParentDeath leaves out the parent-death signal, so that only the
	// plugin's own behaviour stops it when its host dies.
	noParentDeath bool
	log           io.Writer // go-plugin's and the plugin's log lines
	// socketDir is where the plugin makes its Unix socket (go-plugin's
	// PLUGIN_UNIX_SOCKET_DIR), a directory the caller removes; empty: a
	// new one that the launch's kill (or failure) removes. A plugin a
	// case SIGKILLs cannot remove its socket itself.
	socketDir string
}

// rawPlugin is a plugin launched raw.
type rawPlugin struct {
	client    *plugin.Client
	cmd       *exec.Cmd
	conn      *grpc.ClientConn
	version   int
	socketDir string // removed by kill; "" if the caller's
}

// rawGRPCPlugin is the host side of every version a raw launch offers: it
// hands out the connection itself.
type rawGRPCPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (rawGRPCPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return fmt.Errorf("the conformance suite serves no plugins")
}

func (rawGRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return cc, nil
}

// rawLaunch starts the plugin and connects to it. ctx bounds the launch
// only. On error nothing is left running, and the returned *exec.Cmd (if
// not nil) shows what was started.
func rawLaunch(ctx context.Context, rc rawConfig) (*rawPlugin, *exec.Cmd, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	path, err := exec.LookPath(rc.launch.Path)
	if err != nil {
		return nil, nil, err
	}
	sets := make(map[int]plugin.PluginSet, len(rc.versions))
	for _, v := range rc.versions {
		sets[v] = plugin.PluginSet{string(rc.kind): rawGRPCPlugin{}}
	}
	owned := ""
	if rc.socketDir == "" {
		if rc.socketDir, err = os.MkdirTemp("", "rustynet-raw-plugin-"); err != nil {
			return nil, nil, err
		}
		owned = rc.socketDir
	}
	launched := false
	defer func() {
		if !launched && owned != "" {
			_ = os.RemoveAll(owned)
		}
	}()
	cmd := exec.Command(path, rc.launch.Args...)
	cmd.Env = append(append(os.Environ(), rc.launch.Env...), rc.env...)
	cmd.Env = append(cmd.Env, plugin.EnvUnixSocketDir+"="+rc.socketDir)
	if !rc.noParentDeath {
		cmd.SysProcAttr = parentDeathAttr()
	}
	logOut := rc.log
	if logOut == nil {
		logOut = io.Discard
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  hostapi.Handshake,
		VersionedPlugins: sets,
		Cmd:              cmd,
		SkipHostEnv:      true, // cmd.Env holds it already
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     rawStartTimeout,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "raw-launch", Output: logOut, Level: hclog.Debug}),
	})
	stop := context.AfterFunc(ctx, client.Kill)
	rpc, err := client.Client()
	if !stop() {
		client.Kill()
		return nil, cmd, ctx.Err()
	}
	if err != nil {
		client.Kill()
		return nil, cmd, err
	}
	raw, err := rpc.Dispense(string(rc.kind))
	if err != nil {
		client.Kill()
		return nil, cmd, err
	}
	launched = true
	return &rawPlugin{client: client, cmd: cmd, conn: raw.(*grpc.ClientConn), version: client.NegotiatedVersion(), socketDir: owned}, cmd, nil
}

// socketDir returns a new directory for a plugin's Unix socket, removed
// when the case ends. It is made in the system's temporary directory,
// not the run's (Env.TempDir), whose path can be too long for a socket's
// (108 bytes on Linux) under go test.
func socketDir(env *Env) (string, error) {
	dir, err := os.MkdirTemp("", "rustynet-raw-plugin-")
	if err != nil {
		return "", err
	}
	env.Cleanup(func() { removeAll(dir) })
	return dir, nil
}

// kill asks the plugin to exit (go-plugin's graceful shutdown), kills it
// after a grace period if it does not, waits until it has exited and
// removes its socket directory if the launch made it.
func (p *rawPlugin) kill() {
	p.client.Kill()
	if p.socketDir != "" {
		_ = os.RemoveAll(p.socketDir)
	}
}

// exited reports whether the plugin process has exited.
func (p *rawPlugin) exited() bool { return p.client.Exited() }

// serviceName returns the gRPC service of a plugin kind at protocol
// version 1.
func serviceName(k Kind) protoreflect.FullName {
	if k == KindStore {
		return "rustynet.plugin.v1.Store"
	}
	return "rustynet.plugin.v1.Backend"
}

// rawCall calls method of the kind's service with a request that fill
// sets up (nil: empty), and returns the response. The message types come
// from the descriptors hostapi registers, so no generated code is needed.
func rawCall(ctx context.Context, cc *grpc.ClientConn, k Kind, method string, fill func(protoreflect.Message)) (protoreflect.Message, error) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(serviceName(k))
	if err != nil {
		return nil, fmt.Errorf("the %s service is not registered: %w", serviceName(k), err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", serviceName(k))
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return nil, fmt.Errorf("%s has no method %s", serviceName(k), method)
	}
	req := dynamicpb.NewMessage(md.Input())
	if fill != nil {
		fill(req)
	}
	resp := dynamicpb.NewMessage(md.Output())
	if err := cc.Invoke(ctx, "/"+string(serviceName(k))+"/"+method, req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// setStoreDir fills a StoreOpenRequest with config.dir = dir.
func setStoreDir(dir string) func(protoreflect.Message) {
	return func(req protoreflect.Message) {
		f := req.Descriptor().Fields().ByName("config")
		cfg := req.NewField(f).Message()
		cfg.Set(cfg.Descriptor().Fields().ByName("dir"), protoreflect.ValueOfString(dir))
		req.Set(f, protoreflect.ValueOfMessage(cfg))
	}
}

// infoName reads info.name from an Info response.
func infoName(resp protoreflect.Message) string {
	info := resp.Get(resp.Descriptor().Fields().ByName("info")).Message()
	return info.Get(info.Descriptor().Fields().ByName("name")).String()
}
