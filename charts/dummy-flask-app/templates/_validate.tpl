{{/*
The values that pass Kubernetes objects through (probes, hooks, environment, volumes,
resources, tolerations, network peers, route parents), checked by the rules the API server
and the kubelet apply between fields, which values.schema.json cannot express. Without these
checks helm would render an object the API server refuses, or one it accepts and never runs.
*/}}

{{/*
A probe of the app container: the values' probe, with the chart's handler (httpGet /_health on
port http) when it names none, and its httpGet merged into that one. Takes a dict: name
(the values key) and probe. Renders nothing for an empty probe.
*/}}
{{- define "dummy-flask-app.probe" -}}
{{- $name := .name -}}
{{- $probe := dict -}}
{{- range $key, $value := .probe | default dict -}}
{{- if not (kindIs "invalid" $value) -}}{{- $_ := set $probe $key $value -}}{{- end -}}
{{- end -}}
{{- if $probe -}}
{{- $handlers := include "dummy-flask-app.keysSet" (dict "object" $probe "keys" (list "exec" "httpGet" "tcpSocket" "grpc")) | fromJsonArray -}}
{{- if gt (len $handlers) 1 -}}
{{- fail (printf "%s: give one handler, %s; the chart's own (httpGet /_health on port http) is used only when you give none." $name (include "dummy-flask-app.notThese" $handlers)) -}}
{{- end -}}
{{- if or (not $handlers) (has "httpGet" $handlers) -}}
{{- $_ := set $probe "httpGet" (merge (deepCopy ($probe.httpGet | default dict)) (dict "path" "/_health" "port" "http")) -}}
{{- end -}}
{{- if and (ne $name "readinessProbe") (hasKey $probe "successThreshold") (ne (int $probe.successThreshold) 1) -}}
{{- fail (printf "%s.successThreshold: must be 1 (Kubernetes allows more only for readinessProbe), got %d." $name (int $probe.successThreshold)) -}}
{{- end -}}
{{- if and (eq $name "readinessProbe") (hasKey $probe "terminationGracePeriodSeconds") -}}
{{- fail "readinessProbe.terminationGracePeriodSeconds: only livenessProbe and startupProbe take it; remove it." -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}
{{- end -}}

{{/*
Which of "keys" an object sets to something other than null, as a JSON list.
*/}}
{{- define "dummy-flask-app.keysSet" -}}
{{- $found := list -}}
{{- range .keys -}}
{{- if and (hasKey $.object .) (not (kindIs "invalid" (index $.object .))) -}}{{- $found = append $found . -}}{{- end -}}
{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{/*
What a list of keys found says in a refusal: "found none", or "not exec, httpGet and grpc".
*/}}
{{- define "dummy-flask-app.notThese" -}}
{{- if not . -}}found none
{{- else -}}not {{ with initial . }}{{ join ", " . }} and {{ end }}{{ last . }}
{{- end -}}
{{- end -}}

{{/*
A Kubernetes quantity ("100m", "64Mi", "1e3", 0.5) as a number, for comparisons.
*/}}
{{- define "dummy-flask-app.quantity" -}}
{{- $text := toString . -}}
{{- $number := regexFind "^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?" $text -}}
{{- $suffix := trimPrefix $number $text -}}
{{- $value := float64 (trimPrefix "+" $number) -}}
{{- if eq $suffix "m" -}}
{{- divf $value 1000 -}}
{{- else -}}
{{- $scale := dict "" 1 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "Ei" 1152921504606846976 -}}
{{- mulf $value (get $scale $suffix) -}}
{{- end -}}
{{- end -}}

{{/*
A CIDR checked as the API server checks it since Kubernetes 1.33: an IPv4 address without
leading zeros or an IPv6 address (not in dotted form), a prefix length within its family,
and no bits set after the prefix. Returns "IPv4:<the prefix's bits>" (or IPv6), or
"error:<what is wrong>".
*/}}
{{- define "dummy-flask-app.cidr" -}}
{{- $parts := splitList "/" (toString .) -}}
{{- $address := first $parts -}}
{{- $bits := "" -}}
{{- $family := "" -}}
{{- $problem := "" -}}
{{- if regexMatch "^(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}$" $address -}}
{{- $family = "IPv4" -}}
{{- range splitList "." $address -}}
{{- if gt (atoi .) 255 -}}{{- $problem = "has an IPv4 byte above 255" -}}{{- end -}}
{{- $bits = printf "%s%08b" $bits (atoi .) -}}
{{- end -}}
{{- else if and (regexMatch "^[0-9a-fA-F:]+$" $address) (lt (len (splitList "::" $address)) 3) -}}
{{- $family = "IPv6" -}}
{{- $halves := splitList "::" (lower $address) -}}
{{- $head := ternary (list) (splitList ":" (first $halves)) (eq (first $halves) "") -}}
{{- $tail := list -}}
{{- if and (eq (len $halves) 2) (ne (last $halves) "") -}}{{- $tail = splitList ":" (last $halves) -}}{{- end -}}
{{- $groups := $head -}}
{{- if eq (len $halves) 2 -}}
{{- $missing := sub 8 (add (len $head) (len $tail)) -}}
{{- if lt $missing 1 -}}{{- $problem = "has more than 8 IPv6 groups" -}}{{- end -}}
{{- range until (int (max $missing 0)) -}}{{- $groups = append $groups "0" -}}{{- end -}}
{{- $groups = concat $groups $tail -}}
{{- end -}}
{{- if ne (len $groups) 8 -}}{{- $problem = "is not an IPv6 address of 8 groups" -}}{{- end -}}
{{- $hex := dict "0" 0 "1" 1 "2" 2 "3" 3 "4" 4 "5" 5 "6" 6 "7" 7 "8" 8 "9" 9 "a" 10 "b" 11 "c" 12 "d" 13 "e" 14 "f" 15 -}}
{{- range $groups -}}
{{- if not (regexMatch "^[0-9a-f]{1,4}$" .) -}}{{- $problem = "has an IPv6 group of more than 4 hex digits, or none" -}}{{- end -}}
{{- range splitList "" (printf "%4s" . | replace " " "0") -}}
{{- $bits = printf "%s%04b" $bits (get $hex . | int) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $problem = "is not an IPv4 or IPv6 address and a prefix length" -}}
{{- end -}}
{{- $length := ternary (last $parts) "" (eq (len $parts) 2) -}}
{{- $most := ternary 32 128 (eq $family "IPv4") -}}
{{- if $problem -}}
{{- else if not (regexMatch "^(0|[1-9][0-9]{0,2})$" $length) -}}
{{- $problem = "needs a prefix length, a number without leading zeros" -}}
{{- else if gt (atoi $length) $most -}}
{{- $problem = printf "has a prefix length above %d" $most -}}
{{- else if not (regexMatch "^0*$" (substr (atoi $length) -1 $bits)) -}}
{{- $problem = "has bits set after its prefix length" -}}
{{- end -}}
{{- if $problem -}}
{{- printf "error:%s" $problem -}}
{{- else -}}
{{- printf "%s:%s" $family (substr 0 (atoi $length) $bits) -}}
{{- end -}}
{{- end -}}

{{/*
Fails unless "cidr" is a CIDR the API server accepts, naming "key"; returns its prefix bits.
*/}}
{{- define "dummy-flask-app.checkedCidr" -}}
{{- $checked := include "dummy-flask-app.cidr" .cidr -}}
{{- if hasPrefix "error:" $checked -}}
{{- fail (printf "%s: %q %s. Give a range as the API server takes it: an address without leading zeros, a prefix length, and no bits set after the prefix (203.0.113.0/24, not 203.0.113.7/24; 2001:db8::/32)." .key (toString .cidr) (trimPrefix "error:" $checked)) -}}
{{- end -}}
{{- $checked -}}
{{- end -}}

{{/*
The pod's checks: hooks, privileges, sysctls, environment, volumes and mounts, resources,
tolerations, spread constraints, and the StatefulSet's name. The probes check themselves as
workload.yaml renders them ("dummy-flask-app.probe").
*/}}
{{- define "dummy-flask-app.validatePod" -}}
{{- range $hook, $handler := .Values.lifecycle | default dict -}}
{{- if not (kindIs "invalid" $handler) -}}
{{- $handlers := include "dummy-flask-app.keysSet" (dict "object" $handler "keys" (list "exec" "httpGet" "sleep")) | fromJsonArray -}}
{{- if ne (len $handlers) 1 -}}
{{- fail (printf "lifecycle.%s: give one handler (exec, httpGet or sleep), %s." $hook (include "dummy-flask-app.notThese" $handlers)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $container := .Values.securityContext | default dict -}}
{{- if and $container.privileged (not (dig "allowPrivilegeEscalation" true $container)) -}}
{{- fail "securityContext.privileged: a privileged container always escalates privileges; set securityContext.allowPrivilegeEscalation=true with it (the chart's default is false), or drop privileged." -}}
{{- end -}}
{{- $pod := .Values.podSecurityContext | default dict -}}
{{- $nonRoot := ternary $container.runAsNonRoot $pod.runAsNonRoot (hasKey $container "runAsNonRoot") -}}
{{- $user := ternary $container.runAsUser $pod.runAsUser (hasKey $container "runAsUser") -}}
{{- if and $nonRoot (not (kindIs "invalid" $user)) (eq (int $user) 0) -}}
{{- fail "securityContext.runAsUser (or podSecurityContext.runAsUser): 0 is root, and runAsNonRoot is true, so the kubelet would never start the container; give another user, or runAsNonRoot: false." -}}
{{- end -}}
{{- $sysctls := list -}}
{{- range $index, $sysctl := (.Values.podSecurityContext | default dict).sysctls -}}
{{- if has $sysctl.name $sysctls -}}
{{- fail (printf "podSecurityContext.sysctls[%d]: %s is set already; give each sysctl once." $index $sysctl.name) -}}
{{- end -}}
{{- $sysctls = append $sysctls $sysctl.name -}}
{{- end -}}
{{- include "dummy-flask-app.validateEnv" . -}}
{{- include "dummy-flask-app.validateVolumes" . -}}
{{- $requests := .Values.resources.requests | default dict -}}
{{- range $name, $limit := .Values.resources.limits | default dict -}}
{{- $request := index $requests $name | default "" -}}
{{- if and (toString $request) (not (kindIs "invalid" $limit)) -}}
{{- $requested := include "dummy-flask-app.quantity" $request | float64 -}}
{{- $limited := include "dummy-flask-app.quantity" $limit | float64 -}}
{{- /* Within a trillionth: the float arithmetic's error, never a quantity's step. */ -}}
{{- if gt $requested (mulf $limited 1.000000000001) -}}
{{- fail (printf "resources.requests.%s (%v) is above resources.limits.%s (%v); Kubernetes allows a request up to its limit: lower the request or raise the limit." $name $request $name $limit) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $index, $toleration := .Values.tolerations -}}
{{- $operator := $toleration.operator | default "Equal" -}}
{{- if and (not $toleration.key) (ne $operator "Exists") -}}
{{- fail (printf "tolerations[%d].operator: must be Exists when the toleration names no key (it then tolerates every taint)." $index) -}}
{{- end -}}
{{- if and (eq $operator "Exists") $toleration.value -}}
{{- fail (printf "tolerations[%d].value: must be empty with operator Exists; remove it, or use operator Equal." $index) -}}
{{- end -}}
{{- if and (hasKey $toleration "tolerationSeconds") (ne (toString $toleration.effect) "NoExecute") -}}
{{- fail (printf "tolerations[%d].tolerationSeconds: only allowed with effect NoExecute (the time a pod stays on a node after the taint appears)." $index) -}}
{{- end -}}
{{- end -}}
{{- $spreads := dict -}}
{{- range $index, $constraint := .Values.topologySpreadConstraints -}}
{{- $pair := printf "%s/%s" (toString $constraint.topologyKey) (toString $constraint.whenUnsatisfiable) -}}
{{- if hasKey $spreads $pair -}}
{{- fail (printf "topologySpreadConstraints[%d]: topologyKey %q with whenUnsatisfiable %s is given already (item %d); Kubernetes takes each pair once, so merge the two." $index (toString $constraint.topologyKey) (toString $constraint.whenUnsatisfiable) (get $spreads $pair)) -}}
{{- end -}}
{{- $_ := set $spreads $pair $index -}}
{{- $selector := $constraint.labelSelector | default (dict "matchLabels" (include "dummy-flask-app.selectorLabels" $ | fromYaml)) -}}
{{- range $constraint.matchLabelKeys -}}
{{- if hasKey ($selector.matchLabels | default dict) . -}}
{{- fail (printf "topologySpreadConstraints[%d].matchLabelKeys: %q is already in the constraint's labelSelector (the chart's selector labels when none is given); remove it." $index .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.workload.kind "StatefulSet" -}}
{{- $name := include "dummy-flask-app.fullname" . -}}
{{- if gt (len $name) 52 -}}
{{- fail (printf "fullnameOverride (or the release name): a StatefulSet's name may have at most 52 characters, and %q has %d: its pods' controller-revision-hash label is the name plus 11 characters, at most 63. Set fullnameOverride to a shorter name." $name (len $name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
extraEnv and extraEnvFrom: each variable takes value or valueFrom, and valueFrom and each
envFrom entry name exactly one source.
*/}}
{{- define "dummy-flask-app.validateEnv" -}}
{{- $volumes := list -}}
{{- range .Values.extraVolumes -}}{{- $volumes = append $volumes .name -}}{{- end -}}
{{- range $index, $env := .Values.extraEnv -}}
{{- if and (hasKey $env "value") (not (kindIs "invalid" $env.valueFrom)) -}}
{{- fail (printf "extraEnv[%d] (%s): give value or valueFrom, not both." $index $env.name) -}}
{{- end -}}
{{- if hasKey $env "valueFrom" -}}
{{- $sources := include "dummy-flask-app.keysSet" (dict "object" ($env.valueFrom | default dict) "keys" (list "configMapKeyRef" "fieldRef" "fileKeyRef" "resourceFieldRef" "secretKeyRef")) | fromJsonArray -}}
{{- if ne (len $sources) 1 -}}
{{- fail (printf "extraEnv[%d].valueFrom (%s): name one source (configMapKeyRef, fieldRef, fileKeyRef, resourceFieldRef or secretKeyRef), %s." $index $env.name (include "dummy-flask-app.notThese" $sources)) -}}
{{- end -}}
{{- with $env.valueFrom.fileKeyRef -}}
{{- if not (has (toString .volumeName) $volumes) -}}
{{- fail (printf "extraEnv[%d].valueFrom.fileKeyRef.volumeName: %q is not one of extraVolumes (an emptyDir the file is written to)." $index (toString .volumeName)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $index, $source := .Values.extraEnvFrom -}}
{{- $refs := include "dummy-flask-app.keysSet" (dict "object" $source "keys" (list "configMapRef" "secretRef")) | fromJsonArray -}}
{{- if ne (len $refs) 1 -}}
{{- fail (printf "extraEnvFrom[%d]: name one of configMapRef or secretRef, %s; list each in an entry of its own." $index (include "dummy-flask-app.notThese" $refs)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
extraVolumes and extraVolumeMounts: unique names, one source each, mounts of volumes that
exist at paths of their own, and the mount options Kubernetes allows together.
*/}}
{{- define "dummy-flask-app.validateVolumes" -}}
{{- $names := list "tmp" -}}
{{- range $index, $volume := .Values.extraVolumes -}}
{{- if has $volume.name $names -}}
{{- fail (printf "extraVolumes[%d]: the name %q is already taken; give each volume a name of its own." $index $volume.name) -}}
{{- end -}}
{{- $names = append $names $volume.name -}}
{{- $sources := keys (omit $volume "name") | sortAlpha -}}
{{- if gt (len $sources) 1 -}}
{{- fail (printf "extraVolumes[%d] (%s): a volume has one source, not %s; make them volumes of their own." $index $volume.name (join " and " $sources)) -}}
{{- end -}}
{{- end -}}
{{- $paths := list "/tmp" -}}
{{- $privileged := (.Values.securityContext | default dict).privileged -}}
{{- range $index, $mount := .Values.extraVolumeMounts -}}
{{- if not (has $mount.name $names) -}}
{{- fail (printf "extraVolumeMounts[%d].name: %q is not one of extraVolumes; add the volume, or mount one that is." $index $mount.name) -}}
{{- end -}}
{{- $path := trimSuffix "/" $mount.mountPath | default "/" -}}
{{- if has $path $paths -}}
{{- fail (printf "extraVolumeMounts[%d].mountPath: %s is mounted already; give each mount a path of its own." $index $path) -}}
{{- end -}}
{{- $paths = append $paths $path -}}
{{- if and $mount.subPath $mount.subPathExpr -}}
{{- fail (printf "extraVolumeMounts[%d]: give subPath or subPathExpr, not both." $index) -}}
{{- end -}}
{{- if and (has $mount.recursiveReadOnly (list "Enabled" "IfPossible")) (not $mount.readOnly) -}}
{{- fail (printf "extraVolumeMounts[%d].recursiveReadOnly: %s needs readOnly: true." $index $mount.recursiveReadOnly) -}}
{{- end -}}
{{- if and (has $mount.recursiveReadOnly (list "Enabled" "IfPossible")) (has $mount.mountPropagation (list "HostToContainer" "Bidirectional")) -}}
{{- fail (printf "extraVolumeMounts[%d].recursiveReadOnly: %s needs mountPropagation None (or none given)." $index $mount.recursiveReadOnly) -}}
{{- end -}}
{{- if and (eq (toString $mount.mountPropagation) "Bidirectional") (not $privileged) -}}
{{- fail (printf "extraVolumeMounts[%d].mountPropagation: Bidirectional needs a privileged container (securityContext.privileged: true); use HostToContainer or None." $index) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The rollout and disruption limits Kubernetes bounds: percentages up to 100%, and no budget or
StatefulSet limit of zero pods.
*/}}
{{- define "dummy-flask-app.validateLimits" -}}
{{- $budget := .Values.podDisruptionBudget | default dict -}}
{{- if and $budget.enabled (hasKey $budget "maxUnavailable") -}}
{{- $most := toString $budget.maxUnavailable -}}
{{- if regexMatch "^0+%?$" $most -}}
{{- fail (printf "podDisruptionBudget.maxUnavailable: %s would block every drain of a node that runs one of these pods (kubectl drain waits forever); give 1 or more, or set podDisruptionBudget.enabled=false." $most) -}}
{{- end -}}
{{- end -}}
{{- $limits := list (list "podDisruptionBudget.maxUnavailable" $budget.maxUnavailable) -}}
{{- with (.Values.strategy | default dict).rollingUpdate -}}
{{- $limits = append $limits (list "strategy.rollingUpdate.maxUnavailable" .maxUnavailable) -}}
{{- end -}}
{{- with (.Values.updateStrategy | default dict).rollingUpdate -}}
{{- $limits = append $limits (list "updateStrategy.rollingUpdate.maxUnavailable" .maxUnavailable) -}}
{{- if regexMatch "^0+%$" (toString .maxUnavailable) -}}
{{- fail (printf "updateStrategy.rollingUpdate.maxUnavailable: %s is zero pods; give 1 or more, or a percentage above 0%%." (toString .maxUnavailable)) -}}
{{- end -}}
{{- end -}}
{{- range $limits -}}
{{- $value := toString (last .) -}}
{{- if and (hasSuffix "%" $value) (gt (trimSuffix "%" $value | atoi) 100) -}}
{{- fail (printf "%s: %s is more than all of the pods; give a percentage up to 100%%." (first .) $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The NetworkPolicy's peers: an ipBlock stands alone in its peer, and every range is a CIDR
the API server accepts, each except inside its cidr.
*/}}
{{- define "dummy-flask-app.validateNetworkPolicy" -}}
{{- range $index, $peer := .Values.networkPolicy.from -}}
{{- with $block := $peer.ipBlock -}}
{{- if include "dummy-flask-app.keysSet" (dict "object" $peer "keys" (list "podSelector" "namespaceSelector")) | fromJsonArray -}}
{{- fail (printf "networkPolicy.from[%d]: an ipBlock cannot share its peer with a podSelector or namespaceSelector; make them peers of their own." $index) -}}
{{- end -}}
{{- $key := printf "networkPolicy.from[%d].ipBlock" $index -}}
{{- $cidr := include "dummy-flask-app.checkedCidr" (dict "key" (printf "%s.cidr" $key) "cidr" .cidr) -}}
{{- range $at, $except := .except -}}
{{- $inner := include "dummy-flask-app.checkedCidr" (dict "key" (printf "%s.except[%d]" $key $at) "cidr" $except) -}}
{{- if or (not (hasPrefix $cidr $inner)) (eq $cidr $inner) -}}
{{- fail (printf "%s.except[%d]: %s is not a smaller range inside cidr %s." $key $at $except $block.cidr) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $index, $cidr := .Values.networkPolicy.externalCIDRs -}}
{{- $_ := include "dummy-flask-app.checkedCidr" (dict "key" (printf "networkPolicy.externalCIDRs[%d]" $index) "cidr" $cidr) -}}
{{- end -}}
{{- end -}}

{{/*
The HTTPRoute, by the Gateway API CRD's own rules: two references to one parent each name a
listener of their own (sectionName, or port), the same way; an Exact or PathPrefix path is
a clean absolute path.
*/}}
{{- define "dummy-flask-app.validateHTTPRoute" -}}
{{- range $index, $match := .Values.httpRoute.matches -}}
{{- $path := $match.path | default dict -}}
{{- $type := $path.type | default "PathPrefix" -}}
{{- $value := toString ($path.value | default "/") -}}
{{- if has $type (list "Exact" "PathPrefix") -}}
{{- if or (not (regexMatch `^/([-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})*$` $value)) (contains "//" $value) (regexMatch `/\.\.?(/|$)` $value) (regexMatch "%2[fF]" $value) -}}
{{- fail (printf "httpRoute.matches[%d].path.value: %q is no %s path the Gateway API takes: \"/\", then letters, digits, any of -._~!$&'()*+,;=:@/ and %%XX escapes, without \"//\", \"/./\" or \"/../\", a trailing \"/.\" or \"/..\", or an escaped \"/\" (%%2F)." $index $value $type) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $index, $ref := .Values.httpRoute.parentRefs -}}
{{- $parent := printf "%s/%s/%s/%s" ($ref.group | default "gateway.networking.k8s.io") ($ref.kind | default "Gateway") ($ref.namespace | default "") $ref.name -}}
{{- $listener := printf "%s:%v" ($ref.sectionName | default "") ($ref.port | default 0) -}}
{{- $earlier := get $seen $parent -}}
{{- if $earlier -}}
{{- $first := index $earlier 0 -}}
{{- if or (not $ref.sectionName) (has $listener (rest $earlier)) (ne (not $ref.port) (not (index $.Values.httpRoute.parentRefs $first).port)) (not (index $.Values.httpRoute.parentRefs $first).sectionName) -}}
{{- fail (printf "httpRoute.parentRefs[%d]: names the same parent as parentRefs[%d] (%s); give each a sectionName of its own (a listener of that Gateway), ports alike, or list the parent once." $index (int $first) $ref.name) -}}
{{- end -}}
{{- $_ := set $seen $parent (append $earlier $listener) -}}
{{- else -}}
{{- $_ := set $seen $parent (list $index $listener) -}}
{{- end -}}
{{- end -}}
{{- end -}}
