# Secrets unit: the secrets each service owns, generated and rotated by Secrets Manager.
# Keys are "<service>/<name>"; a service's role may read exactly the secrets under its name.

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//secrets"
}

inputs = {
  secrets = {
    "payment-service/webhook-signing-key" = {
      description   = "Signs the payment status webhooks the Payment Service sends."
      rotation_days = 90
    }
    "user-service/jwt-signing-key" = {
      description   = "Signs the JWTs the User Service issues (verifiers accept AWSCURRENT and AWSPREVIOUS)."
      rotation_days = 30
    }
    "admin-service/audit-signing-key" = {
      description   = "Signs the entries of the administrative audit log."
      rotation_days = 90
    }
    "backend-api/session-encryption-key" = {
      description   = "Encrypts the Backend API's session cookies."
      rotation_days = 30
    }
    "portal/ofrep-client-key" = {
      description   = "Client key the microfrontends send to the portal's OFREP API."
      rotation_days = 90
    }
  }
}
