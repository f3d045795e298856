// Command cert-manager-controller runs cert-manager's own controllers (the Go module
// github.com/cert-manager/cert-manager at the version go.mod pins) against an API server, for
// the kube-kmip tests.
//
// Why a launcher of our own: upstream's controller main package lives in a separate module
// (cmd/controller, module path github.com/cert-manager/cert-manager/controller-binary) whose
// path does not match its location, so the Go module proxy cannot serve it. Everything that
// issues certificates (the Certificate, CertificateRequest, Issuer and ClusterIssuer controllers
// and the CA and SelfSigned issuers) is in the main module's pkg/ tree and registers itself with
// pkg/controller; this file only wires those registered controllers to a kubeconfig and runs
// them, the way upstream's binary does, without leader election, metrics or ACME/Vault/Venafi
// (not needed for issuing from a CA, and a much smaller build).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each of these registers its controller (or issuer implementation) in an init function.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

type options struct {
	kubeconfig               string
	clusterResourceNamespace string
	namespace                string
	enableOwnerRef           bool
	leaderElect              bool
	workers                  int
	qps                      float32
	burst                    int
	minBackoff, maxBackoff   time.Duration
	logging                  *logsapi.LoggingConfiguration
}

func parseFlags(args []string) (*options, error) {
	o := &options{logging: logsapi.NewLoggingConfiguration()}
	fs := pflag.NewFlagSet("cert-manager-controller", pflag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to a kubeconfig (required: this launcher runs outside a cluster)")
	fs.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", "cert-manager",
		"namespace holding the Secrets that ClusterIssuers refer to")
	fs.StringVar(&o.namespace, "namespace", "", "watch only this namespace (ClusterIssuers then do not work); empty: all")
	fs.BoolVar(&o.enableOwnerRef, "enable-certificate-owner-ref", false,
		"make each Certificate the owner of its Secret, so deleting the Certificate deletes the Secret")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "accepted for compatibility with upstream's flag; only false is supported")
	fs.IntVar(&o.workers, "concurrent-workers", 5, "workers per controller")
	fs.Float32Var(&o.qps, "kube-api-qps", 20, "client-side QPS limit towards the API server (when APF is off)")
	fs.IntVar(&o.burst, "kube-api-burst", 50, "client-side burst towards the API server (when APF is off)")
	// Upstream's defaults (1h and 32h): a failed issuance is retried after this back-off.
	fs.DurationVar(&o.minBackoff, "certificate-request-minimum-backoff-duration", time.Hour, "first back-off after a failed issuance")
	fs.DurationVar(&o.maxBackoff, "certificate-request-maximum-backoff-duration", 32*time.Hour, "largest back-off after failed issuances")
	logf.AddFlagsNonDeprecated(o.logging, fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.kubeconfig == "" {
		return nil, errors.New("--kubeconfig is required")
	}
	if o.leaderElect {
		return nil, errors.New("--leader-elect=true is not supported by this launcher (run one instance)")
	}
	if err := logf.ValidateAndApply(o.logging); err != nil {
		return nil, fmt.Errorf("logging flags: %w", err)
	}
	return o, nil
}

func run(ctx context.Context, o *options) error {
	log := logf.FromContext(ctx)
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         o.kubeconfig,
		KubernetesAPIQPS:   o.qps,
		KubernetesAPIBurst: o.burst,
		Namespace:          o.namespace,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: o.clusterResourceNamespace},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           o.enableOwnerRef,
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: o.minBackoff,
			CertificateRequestMaximumBackoffDuration: o.maxBackoff,
		},
	})
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}
	base, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}

	known := controller.Known()
	names := make([]string, 0, len(known))
	for name := range known {
		if o.namespace != "" && name == "clusterissuers" {
			continue // cluster-scoped: needs a cluster-wide watch
		}
		names = append(names, name)
	}
	sort.Strings(names)
	log.Info("starting cert-manager controllers", "controllers", names)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(names))
	for _, name := range names {
		c, err := known[name](factory)
		if err != nil {
			return fmt.Errorf("constructing controller %s: %w", name, err)
		}
		go func() { errs <- c.Run(o.workers, ctx) }()
	}
	// The controllers registered their informers above; start them only now.
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	var first error
	for range names {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.SharedInformerFactory.Shutdown()
	return first
}

func main() {
	logf.InitLogs()
	defer logf.FlushLogs()
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	if err := run(ctx, o); err != nil {
		logf.Log.Error(err, "cert-manager controller failed")
		logf.FlushLogs()
		os.Exit(1)
	}
}
