package action

import (
	"context"
	"strings"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
)

// GitHubRepos is the GitHub port of publish:github, shaped after the REST calls it makes. The
// go-github adapter implements it.
type GitHubRepos interface {
	// CreateRepository creates r: POST /orgs/{owner}/repos when owner is an organization, POST
	// /user/repos when owner is the token's own user. errs.Conflict when it exists already.
	CreateRepository(ctx context.Context, r NewRepository) (Repository, error)
	// ReplaceTopics sets the repository's topics (PUT /repos/{owner}/{repo}/topics).
	ReplaceTopics(ctx context.Context, owner, repo string, topics []string) error
	// ProtectBranch sets branch protection (PUT /repos/{owner}/{repo}/branches/{branch}/protection).
	ProtectBranch(ctx context.Context, owner, repo, branch string, p BranchProtection) error
}

// GitHubHost is how publish:github reaches one GitHub host.
type GitHubHost struct {
	// Token is the integration's token, used when a step gives none.
	Token string
	// NewClient returns an API client acting with token.
	NewClient func(token string) (GitHubRepos, error)
}

// NewRepository is a repository to create.
type NewRepository struct {
	Owner       string
	Name        string
	Description string
	Homepage    string
	// Visibility is "private", "internal" or "public".
	Visibility          string
	DeleteBranchOnMerge bool
	AllowMergeCommit    bool
	AllowSquashMerge    bool
	AllowRebaseMerge    bool
	AllowAutoMerge      bool
	HasWiki             bool
	HasIssues           bool
	HasProjects         bool
}

// Repository is a created repository.
type Repository struct {
	// CloneURL is the https URL git pushes to.
	CloneURL string
	// HTMLURL is the repository's web page.
	HTMLURL string
}

// BranchProtection is the protection publish:github applies to the default branch.
type BranchProtection struct {
	RequiredApprovingReviewCount   int
	RequireCodeOwnerReviews        bool
	DismissStaleReviews            bool
	EnforceAdmins                  bool
	RequireBranchesToBeUpToDate    bool
	RequiredStatusCheckContexts    []string
	RequiredConversationResolution bool
	RequiredCommitSigning          bool
}

type publishGitHubInput struct {
	RepoURL                        string   `json:"repoUrl"`
	Description                    string   `json:"description"`
	Homepage                       string   `json:"homepage"`
	DefaultBranch                  string   `json:"defaultBranch"`
	ProtectDefaultBranch           *bool    `json:"protectDefaultBranch"`
	ProtectEnforceAdmins           *bool    `json:"protectEnforceAdmins"`
	RepoVisibility                 string   `json:"repoVisibility"`
	DeleteBranchOnMerge            bool     `json:"deleteBranchOnMerge"`
	AllowMergeCommit               *bool    `json:"allowMergeCommit"`
	AllowSquashMerge               *bool    `json:"allowSquashMerge"`
	AllowRebaseMerge               *bool    `json:"allowRebaseMerge"`
	AllowAutoMerge                 bool     `json:"allowAutoMerge"`
	GitCommitMessage               string   `json:"gitCommitMessage"`
	GitAuthorName                  string   `json:"gitAuthorName"`
	GitAuthorEmail                 string   `json:"gitAuthorEmail"`
	SourcePath                     string   `json:"sourcePath"`
	Topics                         []string `json:"topics"`
	Token                          string   `json:"token"`
	RequireCodeOwnerReviews        bool     `json:"requireCodeOwnerReviews"`
	DismissStaleReviews            bool     `json:"dismissStaleReviews"`
	RequiredApprovingReviewCount   *int     `json:"requiredApprovingReviewCount"`
	RequiredStatusCheckContexts    []string `json:"requiredStatusCheckContexts"`
	RequireBranchesToBeUpToDate    *bool    `json:"requireBranchesToBeUpToDate"`
	RequiredConversationResolution bool     `json:"requiredConversationResolution"`
	RequiredCommitSigning          bool     `json:"requiredCommitSigning"`
	HasWiki                        *bool    `json:"hasWiki"`
	HasIssues                      *bool    `json:"hasIssues"`
	HasProjects                    *bool    `json:"hasProjects"`
}

func orTrue(b *bool) bool { return b == nil || *b }

const publishGitHubInputSchema = `{"type": "object", "required": ["repoUrl"], "additionalProperties": false, "properties": {
	"repoUrl": {"type": "string", "title": "Repository Location", "description": "Accepts the format 'github.com?repo=reponame&owner=owner' where 'reponame' is the new repository name and 'owner' is an organization or username"},
	"description": {"type": "string", "title": "Repository Description"},
	"homepage": {"type": "string", "title": "Repository Homepage"},
	"access": {"type": "string", "title": "Repository Access", "description": "Sets an admin collaborator on the repository. Can either be a user reference different from 'owner' in 'repoUrl' or team reference, eg. 'org/team-name'"},
	"requireCodeOwnerReviews": {"type": "boolean", "title": "Require CODEOWNER Reviews?"},
	"dismissStaleReviews": {"type": "boolean", "title": "Dismiss Stale Reviews"},
	"requiredStatusCheckContexts": {"type": "array", "items": {"type": "string"}, "title": "Required Status Check Contexts"},
	"requireBranchesToBeUpToDate": {"type": "boolean", "title": "Require Branches To Be Up To Date?"},
	"requiredConversationResolution": {"type": "boolean", "title": "Required Conversation Resolution"},
	"requireLastPushApproval": {"type": "boolean", "title": "Require last push approval"},
	"repoVisibility": {"type": "string", "enum": ["private", "public", "internal"], "title": "Repository Visibility"},
	"defaultBranch": {"type": "string", "title": "Default Branch", "description": "Sets the default branch on the repository. The default value is 'master'"},
	"protectDefaultBranch": {"type": "boolean", "title": "Protect Default Branch"},
	"protectEnforceAdmins": {"type": "boolean", "title": "Enforce Admins On Protected Branches"},
	"deleteBranchOnMerge": {"type": "boolean", "title": "Delete Branch On Merge"},
	"gitCommitMessage": {"type": "string", "title": "Git Commit Message", "description": "Sets the commit message on the repository. The default value is 'initial commit'"},
	"gitAuthorName": {"type": "string", "title": "Default Author Name"},
	"gitAuthorEmail": {"type": "string", "title": "Default Author Email"},
	"allowMergeCommit": {"type": "boolean", "title": "Allow Merge Commits"},
	"allowSquashMerge": {"type": "boolean", "title": "Allow Squash Merges"},
	"squashMergeCommitTitle": {"type": "string", "enum": ["PR_TITLE", "COMMIT_OR_PR_TITLE"]},
	"squashMergeCommitMessage": {"type": "string", "enum": ["PR_BODY", "COMMIT_MESSAGES", "BLANK"]},
	"allowRebaseMerge": {"type": "boolean", "title": "Allow Rebase Merges"},
	"allowAutoMerge": {"type": "boolean", "title": "Allow Auto Merges"},
	"sourcePath": {"type": "string", "title": "Source Path", "description": "Path within the workspace that will be used as the repository root. If omitted, the entire workspace will be published as the repository."},
	"bypassPullRequestAllowances": {"type": "object"},
	"requiredApprovingReviewCount": {"type": "number", "title": "Required approving review count"},
	"restrictions": {"type": "object"},
	"collaborators": {"type": "array", "items": {"type": "object"}},
	"hasProjects": {"type": "boolean"},
	"hasWiki": {"type": "boolean"},
	"hasIssues": {"type": "boolean"},
	"token": {"type": "string", "title": "Authentication Token", "description": "The token to use for authorization to GitHub"},
	"topics": {"type": "array", "items": {"type": "string"}, "title": "Topics"},
	"repoVariables": {"type": "object"},
	"secrets": {"type": "object"},
	"oidcCustomization": {"type": "object"},
	"requiredCommitSigning": {"type": "boolean", "title": "Require commit signing"},
	"requiredLinearHistory": {"type": "boolean"},
	"customProperties": {"type": "object"},
	"subscribe": {"type": "boolean"},
	"autoInit": {"type": "boolean"},
	"blockCreations": {"type": "boolean"}}}`

// Inputs Portal accepts for compatibility with Backstage templates but does not act on yet.
var publishGitHubIgnored = []string{"access", "collaborators", "repoVariables", "secrets", "oidcCustomization",
	"bypassPullRequestAllowances", "restrictions", "squashMergeCommitTitle", "squashMergeCommitMessage",
	"requireLastPushApproval", "requiredLinearHistory", "customProperties", "subscribe", "autoInit", "blockCreations"}

func publishGitHub(opts Options) scaffolder.Action {
	const id = "publish:github"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Initializes a git repository of contents in workspace and publishes it to GitHub.",
			Examples:    []scaffolder.ActionExample{{Description: "Initializes a git repository with the contents in the workspace, and publishes it to GitHub with the default configuration.", Example: "steps:\n  - id: publish\n    action: publish:github\n    name: Publish to GitHub\n    input:\n      repoUrl: github.com?repo=repo&owner=owner\n"}},
			Input:       schema(id, "input", publishGitHubInputSchema),
			Output: schema(id, "output", `{"type": "object", "properties": {
				"remoteUrl": {"type": "string", "title": "A URL to the repository with the provider"},
				"repoContentsUrl": {"type": "string", "title": "A URL to the root of the repository"},
				"commitHash": {"type": "string", "title": "The git commit hash of the initial commit"}}}`),
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in publishGitHubInput
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			repo, err := scaffolder.ParseRepoURL(in.RepoURL, opts.Integrations)
			if err != nil {
				return err
			}
			if repo.Type != "github" {
				return errs.E(errs.Invalid, "publish:github cannot publish to %s, a %s host", repo.Host, repo.Type)
			}
			if repo.Owner == "" {
				return errs.E(errs.Invalid, "Invalid URL provider was included in the repo URL to create %s, missing owner", in.RepoURL)
			}
			host, ok := opts.GitHub[repo.Host]
			if !ok || host.NewClient == nil {
				return errs.E(errs.Invalid, "No matching integration configuration for host %s, please check your integrations config", repo.Host)
			}
			token := in.Token
			if token == "" {
				token = host.Token
			}
			if token == "" {
				return errs.E(errs.Invalid, "No token available for host: %s, with owner %s, and repo %s", repo.Host, repo.Owner, repo.Repo)
			}
			for _, k := range publishGitHubIgnored {
				if _, set := ac.Input.Get(k); set {
					ac.Log("Input %s is accepted for compatibility but not applied by Portal yet.", k)
				}
			}
			client, err := host.NewClient(token)
			if err != nil {
				return err
			}
			visibility := in.RepoVisibility
			if visibility == "" {
				visibility = "private"
			}
			branch := in.DefaultBranch
			if branch == "" {
				branch = "master"
			}
			ac.Log("Creating repository %s/%s (%s)", repo.Owner, repo.Repo, visibility)
			created, err := client.CreateRepository(ctx, NewRepository{
				Owner: repo.Owner, Name: repo.Repo, Description: in.Description, Homepage: in.Homepage,
				Visibility: visibility, DeleteBranchOnMerge: in.DeleteBranchOnMerge,
				AllowMergeCommit: orTrue(in.AllowMergeCommit), AllowSquashMerge: orTrue(in.AllowSquashMerge),
				AllowRebaseMerge: orTrue(in.AllowRebaseMerge), AllowAutoMerge: in.AllowAutoMerge,
				HasWiki: orTrue(in.HasWiki), HasIssues: orTrue(in.HasIssues), HasProjects: orTrue(in.HasProjects),
			})
			if err != nil {
				return err
			}
			if len(in.Topics) > 0 {
				if err := client.ReplaceTopics(ctx, repo.Owner, repo.Repo, in.Topics); err != nil {
					return err
				}
			}

			dir := ac.Workspace
			if in.SourcePath != "" {
				sub, err := ac.Workspace.Sub(in.SourcePath)
				if err != nil {
					return err
				}
				defer sub.Close()
				dir = sub
			}
			msg := in.GitCommitMessage
			if msg == "" {
				msg = "initial commit"
			}
			author := Signature{Name: "Scaffolder", Email: "scaffolder@backstage.io"}
			if in.GitAuthorName != "" {
				author.Name = in.GitAuthorName
			}
			if in.GitAuthorEmail != "" {
				author.Email = in.GitAuthorEmail
			}
			ac.Log("Pushing the workspace to %s, branch %s", created.CloneURL, branch)
			hash, err := opts.Git.InitAndPush(ctx, dir.Path(), created.CloneURL, branch, msg, author, token)
			if err != nil {
				return err
			}
			if in.ProtectDefaultBranch == nil || *in.ProtectDefaultBranch {
				reviews := 1
				if in.RequiredApprovingReviewCount != nil {
					reviews = *in.RequiredApprovingReviewCount
				}
				err := client.ProtectBranch(ctx, repo.Owner, repo.Repo, branch, BranchProtection{
					RequiredApprovingReviewCount: reviews, RequireCodeOwnerReviews: in.RequireCodeOwnerReviews,
					DismissStaleReviews: in.DismissStaleReviews, EnforceAdmins: orTrue(in.ProtectEnforceAdmins),
					RequireBranchesToBeUpToDate:    orTrue(in.RequireBranchesToBeUpToDate),
					RequiredStatusCheckContexts:    in.RequiredStatusCheckContexts,
					RequiredConversationResolution: in.RequiredConversationResolution,
					RequiredCommitSigning:          in.RequiredCommitSigning,
				})
				if err != nil {
					// Backstage goes on without protection (free private repositories cannot have it).
					ac.Log("Skipping: default branch protection on '%s', %s", repo.Repo, err.Error())
				}
			}
			ac.Output("remoteUrl", created.CloneURL)
			ac.Output("repoContentsUrl", strings.TrimSuffix(created.HTMLURL, "/")+"/blob/"+branch)
			ac.Output("commitHash", hash)
			return nil
		},
	}
}
