{{/* Names */}}
{{- define "floatlease.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "floatlease.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "floatlease.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "floatlease.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "floatlease.selectorLabels" -}}
app.kubernetes.io/name: {{ include "floatlease.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "floatlease.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "floatlease.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "floatlease.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding database-url, admin-token and mqtt-password. */}}
{{- define "floatlease.secretName" -}}
{{- default (include "floatlease.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "floatlease.signingKeysSecretName" -}}
{{- default (printf "%s-signing-keys" (include "floatlease.fullname" .)) .Values.signingKeys.existingSecret }}
{{- end }}

{{- define "floatlease.cnpgName" -}}
{{- printf "%s-pg" (include "floatlease.fullname" .) | trunc 50 | trimSuffix "-" }}
{{- end }}

{{- define "floatlease.emqxName" -}}
{{- printf "%s-emqx" (include "floatlease.fullname" .) | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/* Where the database URL comes from: a CloudNativePG app Secret or the chart's/existing Secret. */}}
{{- define "floatlease.databaseUrlEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
{{- if .Values.database.cloudnativepg.enabled }}
      name: {{ include "floatlease.cnpgName" . }}-app
      key: uri
{{- else }}
      name: {{ include "floatlease.secretName" . }}
      key: {{ .Values.secret.keys.databaseUrl }}
{{- end }}
{{- end }}

{{- define "floatlease.mqttUrl" -}}
{{- if .Values.mqtt.emqx.enabled }}
{{- printf "mqtt://%s-listeners:1883" (include "floatlease.emqxName" .) }}
{{- else }}
{{- .Values.mqtt.url }}
{{- end }}
{{- end }}

{{/* Fails the render on value combinations that cannot work. */}}
{{- define "floatlease.validate" -}}
{{- if and (not .Values.database.cloudnativepg.enabled) (not .Values.database.url) (not .Values.secret.existingSecret) }}
{{- fail "database: set database.url, database.cloudnativepg.enabled=true, or secret.existingSecret holding the database URL (the image has no embedded PostgreSQL)" }}
{{- end }}
{{- if and .Values.database.url .Values.database.cloudnativepg.enabled }}
{{- fail "database: set either database.url or database.cloudnativepg.enabled, not both" }}
{{- end }}
{{- if and .Values.mqtt.url .Values.mqtt.emqx.enabled }}
{{- fail "mqtt: set either mqtt.url or mqtt.emqx.enabled, not both" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "floatlease.mqttUrl" .)) }}
{{- fail "mqtt: more than one replica needs a shared broker (mqtt.url or mqtt.emqx.enabled); each replica's embedded broker would see only its own agents" }}
{{- end }}
{{- end }}
