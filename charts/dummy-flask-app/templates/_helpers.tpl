{{/*
The chart name, or nameOverride.
*/}}
{{- define "dummy-flask-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The base name of every object: fullnameOverride, else the release name when it already
contains the chart name, else "<release>-<chart>". Object names are DNS labels, hence 63.
*/}}
{{- define "dummy-flask-app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The headless Service a StatefulSet names in spec.serviceName. Truncated so that the
"-headless" suffix always survives and never collides with the ordinary Service.
*/}}
{{- define "dummy-flask-app.headlessServiceName" -}}
{{- printf "%s-headless" (include "dummy-flask-app.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end -}}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "dummy-flask-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels. Selectors are immutable on Deployments and StatefulSets, so these hold
only labels that never change across upgrades or a switch of workload.kind: never the
version or the chart.
*/}}
{{- define "dummy-flask-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dummy-flask-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels for every object: the selector labels plus those that may change.
*/}}
{{- define "dummy-flask-app.labels" -}}
helm.sh/chart: {{ include "dummy-flask-app.chart" . }}
{{ include "dummy-flask-app.selectorLabels" . }}
app.kubernetes.io/version: {{ include "dummy-flask-app.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "dummy-flask-app.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{/*
The full image reference.
*/}}
{{- define "dummy-flask-app.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "dummy-flask-app.imageTag" .) -}}
{{- end -}}

{{/*
The IP pool the pods ask for: ipool.name, else "<fullname>-ipool".
*/}}
{{- define "dummy-flask-app.ipoolName" -}}
{{- .Values.ipool.name | default (printf "%s-ipool" (include "dummy-flask-app.fullname" .)) -}}
{{- end -}}

{{/*
The workload kind, after checking it. values.schema.json refuses other kinds too, but a
release installed with --skip-schema-validation must still not render a broken object.
*/}}
{{- define "dummy-flask-app.workloadKind" -}}
{{- $kind := .Values.workload.kind -}}
{{- if not (has $kind (list "Deployment" "StatefulSet")) -}}
{{- fail (printf "workload.kind: %q is not supported; allowed values are \"Deployment\" and \"StatefulSet\"." (toString $kind)) -}}
{{- end -}}
{{- $kind -}}
{{- end -}}

{{/*
Checks of values that the schema cannot express, each failing with what to change.
*/}}
{{- define "dummy-flask-app.validate" -}}
{{- $strategy := .Values.strategy | default dict -}}
{{- if and (eq (toString $strategy.type) "Recreate") $strategy.rollingUpdate -}}
{{- fail "strategy.rollingUpdate: only allowed when strategy.type is RollingUpdate; remove it or set strategy.type=RollingUpdate." -}}
{{- end -}}
{{- $update := .Values.updateStrategy | default dict -}}
{{- if and (eq (toString $update.type) "OnDelete") $update.rollingUpdate -}}
{{- fail "updateStrategy.rollingUpdate: only allowed when updateStrategy.type is RollingUpdate; remove it or set updateStrategy.type=RollingUpdate." -}}
{{- end -}}
{{- range $key := list "app.kubernetes.io/name" "app.kubernetes.io/instance" -}}
{{- if hasKey ($.Values.podLabels | default dict) $key -}}
{{- fail (printf "podLabels: %q is a selector label the chart sets itself; remove it from podLabels (use nameOverride to change the name)." $key) -}}
{{- end -}}
{{- end -}}
{{- if hasKey (.Values.podAnnotations | default dict) .Values.ipool.annotationKey -}}
{{- fail (printf "podAnnotations: do not set %q here; use ipool.enabled=true and ipool.name, so the chart can check the rollout fits the pool." .Values.ipool.annotationKey) -}}
{{- end -}}
{{- if ge (int .Values.gunicorn.gracefulTimeout) (int .Values.terminationGracePeriodSeconds) -}}
{{- fail (printf "gunicorn.gracefulTimeout (%d) must be below terminationGracePeriodSeconds (%d), or Kubernetes kills pods before gunicorn finishes their requests." (int .Values.gunicorn.gracefulTimeout) (int .Values.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- end -}}

{{/*
Labels of the `helm test` Job and its pod. Deliberately without app.kubernetes.io/name, so
the app's Services never select the test pod.
*/}}
{{- define "dummy-flask-app.testLabels" -}}
helm.sh/chart: {{ include "dummy-flask-app.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
