package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/adpacer/adpacer/internal/config"
)

// TestOverlayConfigsValidate loads each overlay's config.yaml with
// adpacer's own loader, laid out as the rendered pod would see it: the file
// at the path the container's --config names, and every *_file secret it
// names present in the directory where the Secret volume is mounted (and
// nowhere else). A typo in a key, a secret path outside the Secret mount or
// a database outside a writable volume fails here, not in the cluster.
func TestOverlayConfigsValidate(t *testing.T) {
	for _, overlay := range []string{"sqlite-single", "postgres-ha"} {
		t.Run(overlay, func(t *testing.T) {
			r := decode(t, render(t, overlay))
			var tpl corev1.PodTemplateSpec
			switch {
			case len(r.statefulSets) == 1:
				tpl = r.statefulSets[0].Spec.Template
			case len(r.deployments) == 1:
				tpl = r.deployments[0].Spec.Template
			default:
				t.Fatalf("want one workload, got %d StatefulSets and %d Deployments", len(r.statefulSets), len(r.deployments))
			}
			checkOverlayConfig(t, tpl, filepath.Join("kubernetes", "overlays", overlay, "config.yaml"))
		})
	}
}

var secretFileKey = regexp.MustCompile(`(?m)^\s*[a-z_]+_file:\s*(\S+)\s*$`)

func checkOverlayConfig(t *testing.T, tpl corev1.PodTemplateSpec, configFile string) {
	t.Helper()
	c := tpl.Spec.Containers[0]
	configPath := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			configPath = c.Args[i+1]
		} else if p, ok := strings.CutPrefix(a, "--config="); ok {
			configPath = p
		}
	}
	if !filepath.IsAbs(configPath) {
		t.Fatalf("container args %q name no absolute --config path", c.Args)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range tpl.Spec.Volumes {
		volumes[v.Name] = v
	}
	secretsDir, configMounted := "", false
	var writable []string
	for _, m := range c.VolumeMounts {
		v := volumes[m.Name]
		switch {
		case v.ConfigMap != nil && m.MountPath == configPath && m.SubPath == filepath.Base(configFile):
			configMounted = true
		case v.Secret != nil:
			secretsDir = m.MountPath
		case !m.ReadOnly:
			writable = append(writable, m.MountPath)
		}
	}
	if !configMounted {
		t.Fatalf("no ConfigMap volume mounts %s at %s, the path --config names", filepath.Base(configFile), configPath)
	}
	if secretsDir == "" {
		t.Fatal("no Secret volume is mounted")
	}

	// Lay the pod's files out under a temporary root.
	root := t.TempDir()
	raw, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	podConfig := filepath.Join(root, configPath)
	writeFileAll(t, podConfig, raw)
	secrets := secretFileKey.FindAllStringSubmatch(string(raw), -1)
	if len(secrets) == 0 {
		t.Fatalf("%s names no *_file secret", configFile)
	}
	for _, m := range secrets {
		name := strings.Trim(m[1], `"'`)
		// Relative paths only: the loader resolves them against the
		// config's directory (no $CREDENTIALS_DIRECTORY under Kubernetes),
		// so this test can lay them out and load them for real. An
		// absolute path would be read from this machine's /etc.
		if filepath.IsAbs(name) {
			t.Errorf("%s: secret path %s is absolute: name it relative to the config's directory (secrets/NAME) so it follows the mounts and can be validated here", configFile, name)
			continue
		}
		inPod := filepath.Join(filepath.Dir(configPath), name)
		if filepath.Dir(inPod) != secretsDir {
			t.Errorf("%s: secret %s resolves to %s in the pod, not to a file of the Secret mounted at %s", configFile, name, inPod, secretsDir)
			continue
		}
		content := "placeholder-" + filepath.Base(inPod)
		if strings.Contains(inPod, "dsn") {
			content = "postgres://adpacer@postgres:5432/adpacer?sslmode=require"
		}
		writeFileAll(t, filepath.Join(root, inPod), []byte(content+"\n"))
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	cfg, err := config.LoadAndValidate(podConfig)
	if err != nil {
		t.Fatalf("%s does not validate as the pod would load it: %v", configFile, err)
	}
	if cfg.Store.Driver == "sqlite" {
		ok := false
		for _, w := range writable {
			if strings.HasPrefix(cfg.Store.SQLite.Path, w+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: store.sqlite.path %s is not on a writable volume (writable mounts: %v; the root filesystem is read-only)", configFile, cfg.Store.SQLite.Path, writable)
		}
	}
}

func writeFileAll(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
