package kubeconfig

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Credentials is what the kubeconfig says, decoded: where the API is, which CA to trust and
// which client certificate to present.
type Credentials struct {
	Server string
	CA     []byte // PEM
	Cert   []byte // PEM
	Key    []byte // PEM
}

// file is the subset of client-go's kubeconfig format ignigen writes and reads.
type file struct {
	APIVersion     string         `yaml:"apiVersion"`
	Kind           string         `yaml:"kind"`
	Clusters       []namedCluster `yaml:"clusters"`
	Users          []namedUser    `yaml:"users"`
	Contexts       []namedContext `yaml:"contexts"`
	CurrentContext string         `yaml:"current-context"`
}

type namedCluster struct {
	Name    string `yaml:"name"`
	Cluster struct {
		Server string `yaml:"server"`
		CA     string `yaml:"certificate-authority-data"`
	} `yaml:"cluster"`
}

type namedUser struct {
	Name string `yaml:"name"`
	User struct {
		Cert string `yaml:"client-certificate-data,omitempty"`
		Key  string `yaml:"client-key-data,omitempty"`
	} `yaml:"user"`
}

type namedContext struct {
	Name    string `yaml:"name"`
	Context struct {
		Cluster string `yaml:"cluster"`
		User    string `yaml:"user"`
	} `yaml:"context"`
}

// Marshal writes a kubeconfig for cluster with one user and one context, named user@cluster.
func Marshal(cluster, user string, c Credentials) ([]byte, error) {
	enc := base64.StdEncoding.EncodeToString
	name := user + "@" + cluster
	f := file{APIVersion: "v1", Kind: "Config", CurrentContext: name}
	var cl namedCluster
	cl.Name, cl.Cluster.Server, cl.Cluster.CA = cluster, c.Server, enc(c.CA)
	var u namedUser
	u.Name, u.User.Cert, u.User.Key = name, enc(c.Cert), enc(c.Key)
	var ctx namedContext
	ctx.Name, ctx.Context.Cluster, ctx.Context.User = name, cluster, name
	f.Clusters, f.Users, f.Contexts = []namedCluster{cl}, []namedUser{u}, []namedContext{ctx}
	var buf bytes.Buffer
	e := yaml.NewEncoder(&buf)
	e.SetIndent(2)
	if err := e.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), e.Close()
}

// Parse reads a kubeconfig and returns the credentials of its current context, as kubectl would use them.
func Parse(data []byte) (*Credentials, error) {
	var f file
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	var ctx *namedContext
	for i := range f.Contexts {
		if f.Contexts[i].Name == f.CurrentContext {
			ctx = &f.Contexts[i]
		}
	}
	if ctx == nil {
		return nil, fmt.Errorf("current-context %q names no context", f.CurrentContext)
	}
	var c Credentials
	var errs []error
	decode := func(field, s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err == nil && len(b) == 0 {
			err = errors.New("empty")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
		return b
	}
	found := 0
	for _, cl := range f.Clusters {
		if cl.Name == ctx.Context.Cluster {
			c.Server, c.CA = cl.Cluster.Server, decode("certificate-authority-data", cl.Cluster.CA)
			found++
		}
	}
	for _, u := range f.Users {
		if u.Name == ctx.Context.User {
			// A user without any credential is valid (a management node's kubeconfig when the
			// topology asks for none): only a half or undecodable credential is an error.
			if u.User.Cert != "" || u.User.Key != "" {
				c.Cert, c.Key = decode("client-certificate-data", u.User.Cert), decode("client-key-data", u.User.Key)
			}
			found++
		}
	}
	if found != 2 {
		return nil, fmt.Errorf("context %q: cluster %q or user %q not found", ctx.Name, ctx.Context.Cluster, ctx.Context.User)
	}
	if c.Server == "" {
		errs = append(errs, errors.New("cluster has no server"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}
