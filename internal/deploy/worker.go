package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/billpay/portal/internal/errs"
)

// Run claims releases and carries them out until ctx ends: queued ones, and ones whose worker stopped renewing
// its claim (a replica that restarted or died), which are resumed: applying again is idempotent (server-side
// apply of the same objects), then the rollout is watched as before. A release interrupted more than
// MaxAttempts times is failed. On shutdown the claims of running releases are given up at once, so the next
// worker resumes them without waiting for the lease to run out.
func (s *Service) Run(ctx context.Context) error {
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		for {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			r, ok, err := s.deps.Store.ClaimRelease(ctx, s.cfg.Worker, s.cfg.Now().UTC(), s.cfg.Lease)
			if err != nil || !ok {
				<-sem
				if err != nil && ctx.Err() == nil {
					s.log.Error("claiming a release failed", "err", err)
				}
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s.execute(ctx, r)
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// execute carries one claimed release to its end (or until ctx ends, leaving it to be resumed).
func (s *Service) execute(ctx context.Context, r Release) {
	log := s.log.With("release", r.ID, "component", r.Component, "environment", r.Environment)
	// The claim is renewed in the background for as long as this runs; losing it stops the work.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go s.keepLease(ctx, cancel, r.ID)

	if r.Status.Running() {
		if r.Attempts > s.cfg.MaxAttempts {
			s.finish(ctx, r, StatusFailed, fmt.Sprintf("interrupted %d times while %s; not resumed again", r.Attempts-1, r.Status))
			return
		}
		s.event(ctx, r.ID, EventWarning, "Resumed",
			fmt.Sprintf("the portal stopped while this release was %s; resuming (attempt %d of %d)", r.Status, r.Attempts, s.cfg.MaxAttempts))
	}
	env, err := s.Environment(r.Environment)
	if err != nil {
		s.finish(ctx, r, StatusFailed, errs.MessageOf(err))
		return
	}
	now := s.cfg.Now().UTC()
	applying := StatusApplying
	u := ReleaseUpdate{From: []Status{StatusQueued, StatusApplying, StatusRollingOut}, Status: &applying}
	if r.StartedAt == nil {
		u.StartedAt = &now
	}
	if r, err = s.deps.Store.UpdateRelease(ctx, r.ID, u); err != nil {
		log.Error("starting a release failed", "err", err)
		return
	}
	s.event(ctx, r.ID, EventNormal, "Applying", fmt.Sprintf("applying %d objects to %s (cluster %s, namespace %s)", len(r.Objects), env.Name, env.Cluster, r.Namespace))

	cl, err := s.cluster(ctx, env)
	if err != nil {
		s.fail(ctx, r, env, "cannot reach the cluster", err)
		return
	}
	applied, err := cl.Apply(ctx, releaseAnnotated(r.Objects, r.ID), false)
	if err != nil {
		s.fail(ctx, r, env, "apply failed", err)
		return
	}
	dep, ok := workload(applied)
	if !ok {
		s.finish(ctx, r, StatusSucceeded, "applied; no Deployment to wait for")
		return
	}
	gen := dep.Int("metadata.generation")
	rolling := StatusRollingOut
	if r, err = s.deps.Store.UpdateRelease(ctx, r.ID, ReleaseUpdate{Status: &rolling, Generation: &gen}); err != nil {
		log.Error("recording the apply failed", "err", err)
		return
	}
	names := make([]string, len(applied))
	for i, o := range applied {
		names[i] = o.Key()
	}
	s.event(ctx, r.ID, EventNormal, "Applied", fmt.Sprintf("applied %s; Deployment generation %d", strings.Join(names, ", "), gen))
	s.watch(ctx, r, env, cl, dep, gen)
}

// watch follows the Deployment until it is healthy, fails its progress deadline, or the controller never
// reports on this generation within the deadline plus Slack.
func (s *Service) watch(ctx context.Context, r Release, env Environment, cl Cluster, dep Object, gen int64) {
	deadline := time.Duration(dep.Int("spec.progressDeadlineSeconds"))*time.Second + s.cfg.Slack
	start := s.cfg.Now()
	since := start.Add(-time.Minute)
	if r.StartedAt != nil {
		since = r.StartedAt.Add(-time.Minute)
	}
	seen := map[string]bool{}
	lastMsg := ""
	var warnings []string
	poll := time.NewTicker(s.cfg.Poll)
	defer poll.Stop()
	for {
		live, ok, err := cl.Get(ctx, dep)
		switch {
		case ctx.Err() != nil:
			return // shutting down or the claim was lost: the release is resumed by whoever claims it next
		case err != nil:
			s.fail(ctx, r, env, "watching the rollout failed", err)
			return
		case !ok:
			s.finish(ctx, r, StatusFailed, "the Deployment "+dep.Key()+" disappeared during the rollout")
			return
		}
		if evs, err := cl.Warnings(ctx, r.Namespace, r.Workload, since); err == nil {
			for _, e := range evs {
				key := e.UID + e.Last.String()
				if seen[key] {
					continue
				}
				seen[key] = true
				msg := e.Object + ": " + e.Reason + ": " + e.Message
				warnings = append(warnings, msg)
				s.event(ctx, r.ID, EventWarning, e.Reason, msg)
			}
		}
		health, msg := DeploymentHealth(live, gen)
		if msg != lastMsg && health == HealthProgressing {
			s.event(ctx, r.ID, EventNormal, "Progressing", msg)
		}
		lastMsg = msg
		switch health {
		case HealthHealthy:
			s.finish(ctx, r, StatusSucceeded, "rollout complete: "+msg)
			return
		case HealthDegraded:
			s.finish(ctx, r, StatusFailed, "rollout failed: "+msg+lastWarnings(warnings))
			return
		case HealthSuspended:
			s.finish(ctx, r, StatusFailed, "rollout cannot finish: "+msg)
			return
		}
		if s.cfg.Now().Sub(start) > deadline {
			s.finish(ctx, r, StatusFailed, fmt.Sprintf("rollout did not finish within %s: %s%s", deadline, msg, lastWarnings(warnings)))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
}

func lastWarnings(w []string) string {
	if len(w) == 0 {
		return ""
	}
	if len(w) > 3 {
		w = w[len(w)-3:]
	}
	return "; recent warnings: " + strings.Join(w, "; ")
}

// fail ends a release because of err, naming what failed in the words the cause calls for.
func (s *Service) fail(ctx context.Context, r Release, env Environment, what string, err error) {
	if ctx.Err() != nil {
		return // interrupted, not failed: resumed later
	}
	s.forgetOnAuth(env, err)
	msg := what + ": " + errs.MessageOf(err)
	switch errs.CodeOf(err) {
	case errs.Unauthenticated:
		msg = fmt.Sprintf("%s: cluster %s refused the portal's token: %s", what, env.Cluster, errs.MessageOf(err))
	case errs.Unavailable:
		msg = fmt.Sprintf("%s: cluster %s unreachable: %s", what, env.Cluster, errs.MessageOf(err))
	case errs.Internal:
		s.log.Error("release failed", "release", r.ID, "err", err)
	}
	s.finish(ctx, r, StatusFailed, msg)
}

func (s *Service) finish(ctx context.Context, r Release, status Status, msg string) {
	ctx = context.WithoutCancel(ctx)
	now := s.cfg.Now().UTC()
	if _, err := s.deps.Store.UpdateRelease(ctx, r.ID, ReleaseUpdate{Status: &status, Message: &msg, FinishedAt: &now}); err != nil {
		s.log.Error("finishing a release failed", "release", r.ID, "err", err)
		return
	}
	typ, reason := EventNormal, "Succeeded"
	if status == StatusFailed {
		typ, reason = EventWarning, "Failed"
	}
	s.event(ctx, r.ID, typ, reason, msg)
}

var errLeaseLost = errors.New("lease lost")

func (s *Service) keepLease(ctx context.Context, cancel context.CancelCauseFunc, id int64) {
	t := time.NewTicker(s.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if !errors.Is(context.Cause(ctx), errLeaseLost) {
				// Stopping: hand the release over at once. When it finished, this changes nothing.
				_ = s.deps.Store.RenewLease(context.WithoutCancel(ctx), id, s.cfg.Worker, s.cfg.Now().UTC())
			}
			return
		case <-t.C:
			if err := s.deps.Store.RenewLease(ctx, id, s.cfg.Worker, s.cfg.Now().UTC().Add(s.cfg.Lease)); err != nil {
				if errs.Is(err, errs.Conflict) {
					s.log.Warn("another worker took over a release", "release", id)
					cancel(errLeaseLost)
					return
				}
				s.log.Error("renewing a release claim failed", "release", id, "err", err)
			}
		}
	}
}
