package deploy

import "fmt"

// Health is a Deployment's rollout state.
type Health string

const (
	// HealthProgressing: the controller has not caught up, or replicas are still being replaced.
	HealthProgressing Health = "Progressing"
	// HealthHealthy: every replica runs the new template and is available.
	HealthHealthy Health = "Healthy"
	// HealthDegraded: the rollout went past spec.progressDeadlineSeconds (ProgressDeadlineExceeded).
	HealthDegraded Health = "Degraded"
	// HealthSuspended: spec.paused is set; nothing will happen until it is resumed.
	HealthSuspended Health = "Suspended"
)

// DeploymentHealth applies the rules `kubectl rollout status`, Argo CD and kstatus share to a Deployment as the
// API server returns it, and says why in words. generation is the metadata.generation the apply produced: a
// status older than that says nothing about this release.
func DeploymentHealth(d Object, generation int64) (Health, string) {
	if generation == 0 {
		generation = d.Int("metadata.generation")
	}
	observed := d.Int("status.observedGeneration")
	if observed < generation {
		return HealthProgressing, fmt.Sprintf("waiting for the deployment controller to observe generation %d (observed %d)", generation, observed)
	}
	if paused, _ := d.Path("spec.paused").(bool); paused {
		return HealthSuspended, "the Deployment is paused"
	}
	if c := condition(d, "Progressing"); c != nil && c["reason"] == "ProgressDeadlineExceeded" {
		msg, _ := c["message"].(string)
		return HealthDegraded, fmt.Sprintf("progress deadline of %ds exceeded: %s", d.Int("spec.progressDeadlineSeconds"), msg)
	}
	want := int64(1) // the API server's default
	if d.Path("spec.replicas") != nil {
		want = d.Int("spec.replicas")
	}
	updated, replicas, available := d.Int("status.updatedReplicas"), d.Int("status.replicas"), d.Int("status.availableReplicas")
	switch {
	case updated < want:
		return HealthProgressing, fmt.Sprintf("%d of %d new replicas updated", updated, want)
	case replicas > updated:
		return HealthProgressing, fmt.Sprintf("%d old replicas pending termination", replicas-updated)
	case available < updated:
		return HealthProgressing, fmt.Sprintf("%d of %d updated replicas available", available, updated)
	}
	if c := condition(d, "Available"); c != nil && c["status"] != "True" {
		msg, _ := c["message"].(string)
		return HealthProgressing, "not available yet: " + msg
	}
	return HealthHealthy, fmt.Sprintf("%d of %d replicas updated and available", available, want)
}

func condition(d Object, typ string) map[string]any {
	list, _ := d.Path("status.conditions").([]any)
	for _, c := range list {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}
