{{/* The release's name for its objects: "portal" for a release named portal, else "<release>-portal". */}}
{{- define "portal.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "portal.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object and the pods. backstage.io/kubernetes-id lets Portal's own Kubernetes
     view (and Backstage's) find these objects from the catalog's portal component. */}}
{{- define "portal.labels" -}}
{{ include "portal.selectorLabels" . }}
app.kubernetes.io/version: {{ (include "portal.version" .) | trunc 63 | quote }}
app.kubernetes.io/component: server
app.kubernetes.io/part-of: developer-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
backstage.io/kubernetes-id: {{ .Chart.Name }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "portal.version" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "portal.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "portal.version" .) -}}
{{- end -}}
{{- end -}}

{{- define "portal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "portal.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret the pods read their PORTAL_* variables from; empty when secrets.mode is none. */}}
{{/* The Secret with PORTAL_DATABASE_URL built from the database's own secret; empty when there is none. */}}
{{- define "portal.databaseSecretName" -}}
{{- if and (eq .Values.secrets.mode "externalSecret") .Values.secrets.externalSecret.database.secretKey -}}
{{- printf "%s-database" (include "portal.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "portal.secretName" -}}
{{- $mode := .Values.secrets.mode -}}
{{- if eq $mode "existing" -}}
{{- required "secrets.existingSecret is required when secrets.mode is existing" .Values.secrets.existingSecret -}}
{{- else if ne $mode "none" -}}
{{- default (printf "%s-secrets" (include "portal.fullname" .)) .Values.secrets.name -}}
{{- end -}}
{{- end -}}

{{/* The pod spec shared by the Deployment and the migration Job. */}}
{{- define "portal.podSecurity" -}}
serviceAccountName: {{ include "portal.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* Environment and mounts every Portal container gets. */}}
{{- define "portal.containerEnv" -}}
env:
  {{- with (include "portal.goMemLimit" .) }}
  - name: GOMEMLIMIT
    value: {{ . | quote }}
  {{- end }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $databaseSecret := include "portal.databaseSecretName" . }}
{{- with (include "portal.secretName" .) }}
envFrom:
  - secretRef:
      name: {{ . }}
  {{- with $databaseSecret }}
  # Last, so its PORTAL_DATABASE_URL wins over one left in the runtime secret.
  - secretRef:
      name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: config
    mountPath: /etc/portal
    readOnly: true
  - name: data
    mountPath: /data
  - name: tmp
    mountPath: /tmp
  {{- if .Values.deployValues }}
  - name: deploy-values
    mountPath: /etc/portal-deploy-values
    readOnly: true
  {{- end }}
  {{- if eq .Values.secrets.mode "csi" }}
  - name: secrets-store
    mountPath: /mnt/secrets-store
    readOnly: true
  {{- end }}
{{- end -}}

{{- define "portal.volumes" -}}
volumes:
  - name: config
    configMap:
      name: {{ include "portal.fullname" . }}
  - name: data
    emptyDir:
      sizeLimit: {{ .Values.scratch.dataSizeLimit }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.scratch.tmpSizeLimit }}
  {{- if .Values.deployValues }}
  - name: deploy-values
    configMap:
      name: {{ include "portal.fullname" . }}-deploy-values
  {{- end }}
  {{- if eq .Values.secrets.mode "csi" }}
  - name: secrets-store
    csi:
      driver: secrets-store.csi.k8s.io
      readOnly: true
      volumeAttributes:
        secretProviderClass: {{ include "portal.fullname" . }}
  {{- end }}
{{- end -}}

{{/* GOMEMLIMIT: goMemLimitPercent of resources.limits.memory (Mi or Gi), in MiB; empty without a limit. */}}
{{- define "portal.goMemLimit" -}}
{{- $limit := "" -}}
{{- with .Values.resources.limits }}{{ $limit = .memory | default "" | toString }}{{ end -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $limit -}}
{{- $mib = mul (trimSuffix "Gi" $limit | atoi) 1024 -}}
{{- else if hasSuffix "Mi" $limit -}}
{{- $mib = trimSuffix "Mi" $limit | atoi -}}
{{- end -}}
{{- if and (gt (int $mib) 0) .Values.goMemLimitPercent -}}
{{- printf "%dMiB" (div (mul $mib (int .Values.goMemLimitPercent)) 100) -}}
{{- end -}}
{{- end -}}
