// Command kubevalidate checks Kubernetes manifests offline against the API types compiled into
// client-go: every document is decoded by the same strict deserializer the API server applies
// to `kubectl apply --validate=strict` bodies, so an unknown or duplicated field, a wrong type,
// an unparsable quantity or an apiVersion/kind the API does not serve is an error. On top of
// the types it checks what apimachinery can check without a cluster: object names, label keys
// and values, and that a workload's selector matches its pod template's labels.
//
// The one custom resource group k8s/ uses, the Prometheus Operator's monitoring.coreos.com/v1
// (ServiceMonitor, PrometheusRule and the group's other kinds), is decoded the same strict way
// into the operator's own Go types (its pkg/apis/monitoring module, pinned in go.mod), so a
// misspelt field or kind, or a rule's expr that is not a string, fails like it does for a
// Deployment. What the operator's CRD schema adds on top of the types in a cluster (enums, the
// pattern of a Duration such as interval or for) is not checked; any other CRD is unknown here.
//
// Usage: kubevalidate [-json] FILE...   (FILE may be "-" for stdin; multi-document YAML)
// With -json it prints every object as a JSON array (in input order) after validating them all.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

func main() {
	asJSON := flag.Bool("json", false, "print the validated objects as one JSON array")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: kubevalidate [-json] FILE... (- for stdin)")
		os.Exit(2)
	}
	decoder := serializer.NewCodecFactory(apiTypes(), serializer.EnableStrict).UniversalDeserializer()

	var objects []json.RawMessage
	var problems []string
	for _, name := range flag.Args() {
		docs, err := documents(name)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s#%d", name, i+1)
			obj, errs := validate(decoder, doc)
			if obj != nil {
				where = fmt.Sprintf("%s (%s %s)", where, obj.GetObjectKind().GroupVersionKind().Kind, nameOf(obj))
			}
			for _, e := range errs {
				problems = append(problems, fmt.Sprintf("%s: %v", where, e))
			}
			asJSONDoc, err := yaml.YAMLToJSON(doc)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			objects = append(objects, asJSONDoc)
		}
	}
	if len(objects) == 0 && len(problems) == 0 {
		problems = append(problems, "no Kubernetes objects in the input")
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
		}
		fmt.Fprintf(os.Stderr, "kubevalidate: %d problem(s)\n", len(problems))
		os.Exit(1)
	}
	if *asJSON {
		out, _ := json.Marshal(objects)
		os.Stdout.Write(append(out, '\n'))
	} else {
		fmt.Fprintf(os.Stderr, "kubevalidate: %d object(s) valid\n", len(objects))
	}
}

// apiTypes: client-go's built-in API groups and the Prometheus Operator's monitoring.coreos.com/v1.
func apiTypes() *runtime.Scheme {
	types := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{scheme.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(types); err != nil {
			panic(err) // two sets of types that conflict are a bug of this program, not of its input
		}
	}
	return types
}

// documents splits a multi-document YAML stream, dropping empty documents.
func documents(name string) ([][]byte, error) {
	var in io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
}

func stripComments(doc []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}

func validate(decoder runtime.Decoder, doc []byte) (runtime.Object, []error) {
	obj, _, err := decoder.Decode(doc, nil, nil)
	if obj == nil {
		return nil, []error{err}
	}
	var errs []error
	if err != nil {
		// Strict errors (unknown/duplicate fields) come back together with the decoded object.
		errs = append(errs, err)
	}
	if accessor, ok := obj.(metav1.Object); ok {
		errs = append(errs, checkMeta(obj, accessor)...)
	}
	errs = append(errs, checkSelector(obj)...)
	return obj, errs
}

func nameOf(obj runtime.Object) string {
	if accessor, ok := obj.(metav1.Object); ok {
		if accessor.GetNamespace() != "" {
			return accessor.GetNamespace() + "/" + accessor.GetName()
		}
		return accessor.GetName()
	}
	return ""
}

// Names of these kinds become DNS labels (Service names are host names, Namespaces are path parts).
var labelNamed = map[string]bool{"Service": true, "Namespace": true}

func checkMeta(obj runtime.Object, m metav1.Object) []error {
	var errs []error
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	check := validation.IsDNS1123Subdomain
	if labelNamed[kind] {
		check = validation.IsDNS1123Label
	}
	if m.GetName() == "" {
		errs = append(errs, errors.New("metadata.name is required"))
	} else {
		for _, msg := range check(m.GetName()) {
			errs = append(errs, fmt.Errorf("metadata.name %q: %s", m.GetName(), msg))
		}
	}
	if ns := m.GetNamespace(); ns != "" {
		for _, msg := range validation.IsDNS1123Label(ns) {
			errs = append(errs, fmt.Errorf("metadata.namespace %q: %s", ns, msg))
		}
	}
	errs = append(errs, checkLabels("metadata.labels", m.GetLabels())...)
	return errs
}

func checkLabels(field string, set map[string]string) []error {
	var errs []error
	for k, v := range set {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("%s key %q: %s", field, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("%s[%s] value %q: %s", field, k, v, msg))
		}
	}
	return errs
}

// checkSelector: the API server rejects a workload whose selector does not select its own pods.
func checkSelector(obj runtime.Object) []error {
	var selector *metav1.LabelSelector
	var template *corev1.PodTemplateSpec
	var claims []string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		selector, template = o.Spec.Selector, &o.Spec.Template
	case *appsv1.StatefulSet:
		selector, template = o.Spec.Selector, &o.Spec.Template
		for _, c := range o.Spec.VolumeClaimTemplates {
			claims = append(claims, c.Name)
		}
	case *appsv1.DaemonSet:
		selector, template = o.Spec.Selector, &o.Spec.Template
	case *batchv1.Job:
		template = &o.Spec.Template
		errs := checkLabels("spec.template.metadata.labels", template.Labels)
		return append(errs, checkPod(template.Spec, nil)...)
	default:
		return nil
	}
	errs := checkLabels("spec.template.metadata.labels", template.Labels)
	if selector == nil || (len(selector.MatchLabels) == 0 && len(selector.MatchExpressions) == 0) {
		return append(errs, errors.New("spec.selector is required and must not be empty"))
	}
	parsed, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return append(errs, fmt.Errorf("spec.selector: %w", err))
	}
	if !parsed.Matches(labels.Set(template.Labels)) {
		errs = append(errs, fmt.Errorf("spec.selector %s does not match spec.template.metadata.labels %v", parsed, template.Labels))
	}
	return append(errs, checkPod(template.Spec, claims)...)
}

// checkPod: the few pod rules that are cheap to restate and easy to get wrong by hand.
// claims are a StatefulSet's volumeClaimTemplates, which become volumes of each pod.
func checkPod(pod corev1.PodSpec, claims []string) []error {
	var errs []error
	if len(pod.Containers) == 0 {
		errs = append(errs, errors.New("spec.template.spec.containers must not be empty"))
	}
	volumes := map[string]bool{}
	for _, c := range claims {
		volumes[c] = true
	}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	all := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	for _, c := range all {
		if c.Image == "" {
			errs = append(errs, fmt.Errorf("container %q has no image", c.Name))
		}
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, fmt.Errorf("container name %q: %s", c.Name, msg))
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			if p.Name != "" {
				for _, msg := range validation.IsValidPortName(p.Name) {
					errs = append(errs, fmt.Errorf("container %q port name %q: %s", c.Name, p.Name, msg))
				}
				ports[p.Name] = true
			}
		}
		for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
				errs = append(errs, fmt.Errorf("container %q: probe port %q is not a named port of the container", c.Name, probe.HTTPGet.Port.StrVal))
			}
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				errs = append(errs, fmt.Errorf("container %q mounts volume %q that the pod does not define", c.Name, m.Name))
			}
		}
		for _, e := range c.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				errs = append(errs, fmt.Errorf("container %q env %q: %s", c.Name, e.Name, msg))
			}
		}
		if strings.TrimSpace(c.Image) != c.Image {
			errs = append(errs, fmt.Errorf("container %q image has surrounding spaces", c.Name))
		}
	}
	return errs
}
