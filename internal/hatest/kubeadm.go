package hatest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// InitConfigForJoin turns a joining control-plane node's generated JoinConfiguration into the
// InitConfiguration + ClusterConfiguration pair that `kubeadm init phase ...` reads. kubeadm
// join does the same internally: it takes the ClusterConfiguration from the cluster (uploaded
// from the init node's configuration) and the node's own registration and local API endpoint
// from the JoinConfiguration.
func InitConfigForJoin(join, init []byte) ([]byte, error) {
	jdocs, err := yamlDocs(join)
	if err != nil {
		return nil, fmt.Errorf("join configuration: %w", err)
	}
	idocs, err := yamlDocs(init)
	if err != nil {
		return nil, fmt.Errorf("init configuration: %w", err)
	}
	j := findKind(jdocs, "JoinConfiguration")
	cc := findKind(idocs, "ClusterConfiguration")
	if j == nil || cc == nil {
		return nil, errors.New("need a JoinConfiguration and a ClusterConfiguration")
	}
	cp, _ := j["controlPlane"].(map[string]any)
	if cp == nil {
		return nil, errors.New("JoinConfiguration has no controlPlane: not a control-plane node")
	}
	ic := map[string]any{
		"apiVersion":       j["apiVersion"],
		"kind":             "InitConfiguration",
		"nodeRegistration": j["nodeRegistration"],
		"localAPIEndpoint": cp["localAPIEndpoint"],
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	for _, d := range []map[string]any{ic, cc} {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), enc.Close()
}

func yamlDocs(data []byte) ([]map[string]any, error) {
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

func findKind(docs []map[string]any, kind string) map[string]any {
	for _, d := range docs {
		if d["kind"] == kind {
			return d
		}
	}
	return nil
}

// ManifestCommand returns the command line of the single container of a static-pod manifest.
func ManifestCommand(data []byte) ([]string, error) {
	var pod struct {
		Kind string
		Spec struct {
			Containers []struct {
				Name    string
				Command []string
				Args    []string
			}
		}
	}
	if err := yaml.Unmarshal(data, &pod); err != nil {
		return nil, err
	}
	if pod.Kind != "Pod" || len(pod.Spec.Containers) != 1 {
		return nil, fmt.Errorf("not a static pod with one container (kind %q, %d containers)", pod.Kind, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	cmd := append(append([]string{}, c.Command...), c.Args...)
	if len(cmd) == 0 {
		return nil, fmt.Errorf("container %s has no command", c.Name)
	}
	return cmd, nil
}

// Flag returns the value of --name=value in cmd.
func Flag(cmd []string, name string) (string, bool) {
	p := "--" + name + "="
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, p); ok {
			return v, true
		}
	}
	return "", false
}

// SetFlag returns cmd with --name=value replacing any earlier value, or appended.
func SetFlag(cmd []string, name, value string) []string {
	p := "--" + name + "="
	out := make([]string, 0, len(cmd)+1)
	done := false
	for _, a := range cmd {
		if strings.HasPrefix(a, p) {
			if !done {
				out = append(out, p+value)
				done = true
			}
			continue
		}
		out = append(out, a)
	}
	if !done {
		out = append(out, p+value)
	}
	return out
}
