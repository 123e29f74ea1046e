// Runs a Jenkinsfile's declarative pipeline outside Jenkins, with the few Jenkins steps it uses
// simulated and recorded: which stages run, on which agents, which shell commands (as written, and
// as the shell sees them after $VAR and glob expansion), what is stashed, echoed and archived.
// Groovy, like Jenkins' own pipeline engine, so the Jenkinsfile's code runs as written; the shell
// commands are not run (test/integration/jenkins-pipeline.test.ts runs them for real).
//
//   groovy jenkins-shim.groovy JENKINSFILE SCENARIO.json TRACE.json
//
// SCENARIO: { params, env, nodes: [{name, labels, online}], credentials: {id: {username, password} |
// {file: true}}, outputs: {file: text written by a command that writes file}, fail: [regex of
// commands, as the shell sees them, that exit 1] }. Parallel branches run one after the other, in
// order; like Jenkins, all of them run and the first failure is raised at the end.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

def (jenkinsfile, scenarioFile, traceFile) = args as List
def scenario = new JsonSlurper().parse(new File(scenarioFile))
def events = []
def env = [:] + (scenario.env ?: [:])
def params = [:]
def currentBuild = [description: null]
def stash = [:]
def workspaces = []          // the stack of allocated agents: [agent, label, files]
def stageStack = []          // [name, run]
def branchStack = []
def credentialVars = []      // variables a withCredentials block binds, innermost last
def sections = [:]           // the pipeline's agent, parameters, environment, stages, post
def conditions = null

def ws = { -> workspaces ? workspaces[-1] : [agent: null, label: null, files: [:]] }
def record = { Map e -> events << (e + [agent: ws().agent, stages: stageStack.collect { it.name }, branch: branchStack ? branchStack[-1] : null]) }

// A label expression (`docker && arm64`, `a || b`, `!a`) against an agent's labels.
def matches = { String expr, List labels ->
  expr.split(/\|\|/).any { alt -> alt.split('&&').every { term ->
    def t = term.trim()
    t.startsWith('!') ? !labels.contains(t.substring(1).trim()) : labels.contains(t)
  } }
}
def globRegex = { String glob ->
  '^' + glob.split(/\*\*/, -1).collect { part -> part.split(/\*/, -1).collect { java.util.regex.Pattern.quote(it) }.join('[^/]*') }.join('.*') + '$'
}
def filesMatching = { String patterns ->
  def res = patterns.split(',').collect { globRegex(it.trim()) }
  ws().files.keySet().findAll { f -> res.any { f ==~ it } }.sort()
}

// What the shell sees: $VAR and ${VAR} from the environment, words split (quotes kept together),
// globs matched against the workspace's files (kept as written when nothing matches, as bash does).
def shellWords = { String line ->
  def expanded = line.replaceAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/) { all, name -> (env[name] ?: '').toString() }
  def words = []
  (expanded =~ /"([^"]*)"|'([^']*)'|(\S+)/).each { m ->
    if (m[3] == null) { words << (m[1] ?: m[2] ?: ''); return }
    words.addAll(m[3].split(/\s+/).toList())
  }
  words.collectMany { w -> w.contains('*') ? (filesMatching(w) ?: [w]) : [w] }
}

// Files a command writes (--out, -o, --results, > FILE) and removes (rm).
def applyEffects = { List words ->
  if (words && words[0] == 'rm') {
    words.findAll { !it.startsWith('-') }.drop(1).each { p -> ws().files.keySet().removeAll { it == p || it.startsWith(p + '/') } }
    return
  }
  words.eachWithIndex { w, i ->
    if (w in ['--out', '-o', '--results', '>'] && i + 1 < words.size()) ws().files[words[i + 1]] = scenario.outputs?.get(words[i + 1]) ?: ''
  }
}

def binding = new Binding()
def steps = [
  pipeline: { Closure body -> body() },
  agent: { Closure body -> body() },
  label: { String l -> sections.agent = l },
  parameters: { Closure body -> body() },
  string: { Map p -> params[p.name] = p.defaultValue },
  booleanParam: { Map p -> params[p.name] = p.defaultValue },
  options: { Closure body -> body() },
  timestamps: { -> null },
  disableConcurrentBuilds: { -> null },
  logRotator: { Map m -> m },
  buildDiscarder: { x -> null },
  environment: { Closure body -> sections.environment = body },
  stages: { Closure body -> sections.stages = body },
  post: { Closure body -> sections.post = body },
  always: { Closure body -> sections.always = body },

  stage: { String name, Closure body ->
    stageStack << [name: name.toString(), run: true]
    record(step: 'stage', name: name.toString())
    try { body() } finally { stageStack.with { it.remove(it.size() - 1) } }
  },
  when: { Closure body ->
    conditions = []
    body()
    stageStack[-1].run = conditions.every()
    if (!stageStack[-1].run) record(step: 'skipped', name: stageStack[-1].name)
  },
  branch: { String pattern -> conditions << (env.BRANCH_NAME == pattern) },
  steps: { Closure body -> if (stageStack[-1].run) body() },
  script: { Closure body -> body() },

  node: { String label, Closure body ->
    def agent = scenario.nodes.find { it.online != false && matches(label.toString(), it.labels) }
    if (!agent) throw new IllegalStateException("no online agent matches '${label}': Jenkins would wait for one")
    workspaces << [agent: agent.name, label: label.toString(), files: [:]]
    record(step: 'node', label: label.toString())
    def saved = [WORKSPACE: env.WORKSPACE, NODE_NAME: env.NODE_NAME]
    env.WORKSPACE = "/agents/${agent.name}/workspace/${workspaces.size()}".toString()
    env.NODE_NAME = agent.name
    try { body() } finally { workspaces.with { it.remove(it.size() - 1) }; env.putAll(saved) }
  },
  nodesByLabel: { arg ->
    def label = (arg instanceof Map ? arg.label : arg).toString()
    def offline = arg instanceof Map && arg.offline
    record(step: 'nodesByLabel', label: label)
    scenario.nodes.findAll { (offline || it.online != false) && matches(label, it.labels) }.collect { it.name }
  },
  checkout: { s -> record(step: 'checkout') },
  sh: { arg ->
    def script = (arg instanceof Map ? arg.script : arg).toString()
    def lines = script.readLines().findAll { it.trim() }
    def words = lines.size() == 1 ? script.split('&&').collect { shellWords(it) } : [shellWords(script)]
    record(step: 'sh', script: script, shell: words.collect { it.join(' ') }.join(' && '),
           credentials: credentialVars.flatten(), vars: env.findAll { k, v -> k ==~ /[A-Z_]+/ }.collectEntries { k, v -> [k, v.toString()] })
    if (lines.size() == 1) words.each { applyEffects(it) }
    def shell = words.collect { it.join(' ') }.join(' && ')
    def failed = scenario.fail?.any { shell =~ it }
    // returnStatus: the exit code is the script's answer, not a failure of the step.
    if (arg instanceof Map && arg.returnStatus) return failed ? 1 : 0
    if (failed) throw new RuntimeException("script returned exit code 1: ${shell}")
    return arg instanceof Map && arg.returnStdout ? '' : null
  },
  readFile: { arg ->
    def path = (arg instanceof Map ? arg.file : arg).toString()
    if (!ws().files.containsKey(path)) throw new java.nio.file.NoSuchFileException(path)
    ws().files[path]
  },
  fileExists: { String path -> ws().files.keySet().any { it == path || it.startsWith(path + '/') } },
  echo: { msg -> record(step: 'echo', message: msg.toString()) },
  error: { msg -> throw new RuntimeException(msg.toString()) },
  archiveArtifacts: { Map m -> record(step: 'archive', artifacts: m.artifacts.toString()) },
  stash: { Map m ->
    def files = filesMatching(m.includes.toString())
    if (!files && !m.allowEmpty) throw new RuntimeException("No files included in stash '${m.name}'")
    stash[m.name.toString()] = files.collectEntries { [it, ws().files[it]] }
    record(step: 'stash', name: m.name.toString(), files: files)
  },
  unstash: { name ->
    def saved = stash[name.toString()]
    record(step: 'unstash', name: name.toString(), found: saved != null)
    if (saved == null) throw new RuntimeException("No such saved stash '${name}'")
    ws().files.putAll(saved)
  },
  parallel: { Map branches ->
    record(step: 'parallel', branches: branches.keySet().collect { it.toString() })
    def failures = []
    branches.each { name, body ->
      branchStack << name.toString()
      try { body() } catch (Throwable e) { failures << e; record(step: 'branch failed', name: name.toString(), error: e.message) }
      finally { branchStack.with { it.remove(it.size() - 1) } }
    }
    if (failures) throw failures[0]
  },
  withEnv: { List vars, Closure body ->
    def set = vars.collectEntries { def (k, v) = it.toString().split('=', 2) as List; [k, v] }
    def saved = set.keySet().collectEntries { [it, env[it]] }
    env.putAll(set)
    try { body() } finally { saved.each { k, v -> if (v == null) env.remove(k) else env[k] = v } }
  },
  usernamePassword: { Map m -> m + [kind: 'usernamePassword'] },
  file: { Map m -> m + [kind: 'file'] },
  withCredentials: { List bindings, Closure body ->
    def set = [:]
    bindings.each { b ->
      def secret = scenario.credentials?.get(b.credentialsId.toString())
      if (secret == null) throw new RuntimeException("Could not find credentials entry with ID '${b.credentialsId}'")
      if (b.kind == 'file') set[b.variable] = "/secrets/${b.credentialsId}".toString()
      else { set[b.usernameVariable] = secret.username; set[b.passwordVariable] = secret.password }
    }
    record(step: 'withCredentials', ids: bindings.collect { it.credentialsId.toString() })
    credentialVars << set.keySet().toList()
    def saved = set.keySet().collectEntries { [it, env[it]] }
    env.putAll(set)
    try { body() } finally { credentialVars.with { it.remove(it.size() - 1) }; saved.each { k, v -> if (v == null) env.remove(k) else env[k] = v } }
  },
]
steps.each { name, closure -> binding.setVariable(name, closure) }
binding.setVariable('env', env)
binding.setVariable('params', params)
binding.setVariable('currentBuild', currentBuild)
binding.setVariable('scm', 'scm')

// The `environment` block assigns variables and reads params and env: assignments are collected,
// everything else is looked up where the Jenkinsfile's code finds it.
class EnvironmentBlock extends GroovyObjectSupport {
  Map assigned = [:]
  void setProperty(String name, Object value) { this.@assigned[name] = value }
  Object getProperty(String name) { throw new MissingPropertyException(name, EnvironmentBlock) }
}

def result = 'SUCCESS'
def failure = null
new GroovyShell(binding).evaluate(new File(jenkinsfile).text, 'Jenkinsfile.groovy')
// Declarative order: parameters, the agent, the environment, the stages, then post, whatever failed.
params.putAll(scenario.params ?: [:])
steps.node(sections.agent) {
  if (sections.environment) {
    def block = new EnvironmentBlock()
    sections.environment.delegate = block
    sections.environment.resolveStrategy = Closure.DELEGATE_FIRST
    sections.environment()
    block.@assigned.each { k, v -> env[k] = v.toString() }
  }
  try {
    sections.stages()
  } catch (Throwable e) {
    result = 'FAILURE'
    failure = e.message
  } finally {
    if (sections.post) {
      sections.post()
      sections.always?.call()
    }
  }
}
new File(traceFile).text = JsonOutput.prettyPrint(JsonOutput.toJson([result: result, error: failure, description: currentBuild.description, params: params, events: events]))
