# troupe's Ruby helper: runs the Ruby functions and templates that troupe has no native
# version of, with Puppet's own function API, and answers troupe over JSON lines.
#
# Channel: the process's standard input and output, one JSON object per line. Standard
# output is then pointed at standard error, so a function's `puts` cannot corrupt it.
# Messages (see crates/troupe-rubyhost/src/lib.rs for troupe's side):
#   troupe -> helper  {"id":N,"op":"call","kind":"4x"|"3x","name":..,"file":..,"env":{..},"args":[..],"lambda":ARITY|null}
#                     {"id":N,"op":"erb","file":..,"source":..,"env":{..},"vars":{..}}
#                     {"id":N,"op":"result"|"error",..} answering a callback
#   helper -> troupe  {"id":N,"op":"result","value":..} | {"id":N,"op":"error","class":..,"message":..,"file":..,"line":..}
#                     {"id":"hK","op":"callback","what":..,..} (troupe answers with result/error for "hK")
#                     {"op":"log","level":..,"message":..}
# Values are Puppet's rich data (`__ptype`); types travel as {"__ptype":"Type","__pvalue":"<source>"}.
$troupe_in = $stdin.dup
$troupe_out = $stdout.dup
$troupe_out.sync = true
$stdin.reopen(File::NULL)
$stdout.reopen($stderr)

require 'json'
require 'tmpdir'
require 'puppet'

TROUPE_TMP = Dir.mktmpdir('troupe-ruby-')
at_exit { FileUtils.rm_rf(TROUPE_TMP) }
Puppet.initialize_settings(%W[--confdir=#{TROUPE_TMP}/conf --vardir=#{TROUPE_TMP}/var
                              --codedir=#{TROUPE_TMP}/code --logdir=#{TROUPE_TMP}/log
                              --rundir=#{TROUPE_TMP}/run --publicdir=#{TROUPE_TMP}/public])

module Troupe
  # A failure that troupe reported through a callback, raised in Ruby with troupe's message.
  class Remote < Puppet::ParseError; end

  @seq = 0
  @envs = {}
  @stamps = {}

  def self.write(msg)
    $troupe_out.write(JSON.generate(msg) << "\n")
  end

  def self.read
    line = $troupe_in.gets
    exit!(0) if line.nil?
    JSON.parse(line)
  end

  # Asks troupe something, serving troupe's nested requests until the answer arrives.
  def self.callback(what, payload = {})
    id = "h#{@seq += 1}"
    write(payload.merge('id' => id, 'op' => 'callback', 'what' => what))
    loop do
      m = read
      if m['id'] == id && m['op'] == 'result'
        return decode(m['value'])
      elsif m['id'] == id && m['op'] == 'error'
        raise Remote, m['message']
      else
        serve(m)
      end
    end
  end

  # ---- values -------------------------------------------------------------------------
  T = Puppet::Pops::Types

  def self.encode(v)
    case v
    when nil, true, false, Float then v
    when Integer
      raise Puppet::Error, "integer #{v} is out of the 64-bit range" unless v.bit_length < 64
      v
    when String
      if v.encoding == Encoding::ASCII_8BIT && !v.dup.force_encoding('UTF-8').valid_encoding?
        { '__ptype' => 'Binary', '__pvalue' => [v].pack('m0') }
      else
        v.encoding == Encoding::UTF_8 ? v : v.dup.force_encoding('UTF-8')
      end
    when Symbol
      return nil if v == :undef
      return { '__ptype' => 'Default' } if v == :default
      v.to_s
    when Array then v.map { |x| encode(x) }
    when Hash
      if v.keys.all? { |k| k.is_a?(String) } && !v.key?('__ptype')
        v.each_with_object({}) { |(k, x), h| h[k] = encode(x) }
      else
        { '__ptype' => 'Hash', '__pvalue' => v.flat_map { |k, x| [encode(k), encode(x)] } }
      end
    when Regexp then { '__ptype' => 'Regexp', '__pvalue' => v.source }
    when T::PSensitiveType::Sensitive then { '__ptype' => 'Sensitive', '__pvalue' => encode(v.unwrap) }
    when Puppet::Pops::Time::Timestamp then { '__ptype' => 'Timestamp', '__pvalue' => v.to_s }
    when Puppet::Pops::Time::Timespan then { '__ptype' => 'Timespan', '__pvalue' => v.to_s }
    when T::PBinaryType::Binary then { '__ptype' => 'Binary', '__pvalue' => v.to_s }
    when SemanticPuppet::Version then { '__ptype' => 'SemVer', '__pvalue' => v.to_s }
    when SemanticPuppet::VersionRange then { '__ptype' => 'SemVerRange', '__pvalue' => v.to_s }
    when T::PAnyType then { '__ptype' => 'Type', '__pvalue' => v.to_s }
    when Puppet::Resource
      { '__ptype' => 'Type', '__pvalue' => "#{v.type}[#{v.title.inspect}]" }
    when T::Iterator then v.to_a.map { |x| encode(x) }
    when Puppet::Pops::Evaluator::DeferredValue, T::TypedObject
      raise Puppet::Error, "a #{v.class} cannot be returned to troupe"
    else
      raise Puppet::Error, "a Ruby #{v.class} is not a Puppet value"
    end
  end

  def self.decode(j)
    case j
    when Array then j.map { |x| decode(x) }
    when Hash
      t = j['__ptype']
      return j.each_with_object({}) { |(k, x), h| h[k] = decode(x) } if t.nil?
      v = j['__pvalue']
      case t
      when 'Default' then :default
      when 'Sensitive' then T::PSensitiveType::Sensitive.new(decode(v))
      when 'Regexp' then Regexp.new(v)
      when 'Hash' then Hash[*decode(v)]
      when 'Timestamp' then Puppet::Pops::Time::Timestamp.parse(v)
      when 'Timespan' then Puppet::Pops::Time::Timespan.parse(v)
      when 'Binary' then T::PBinaryType::Binary.from_base64_strict(v)
      when 'SemVer' then SemanticPuppet::Version.parse(v)
      when 'SemVerRange' then SemanticPuppet::VersionRange.parse(v)
      when 'Type' then T::TypeParser.singleton.parse(v, @loaders && @loaders.private_environment_loader)
      when 'Deferred'
        T::TypeFactory.deferred.create(j['name'], decode(j['arguments'] || []))
      else raise Puppet::Error, "unknown rich data type #{t}"
      end
    else j
    end
  end

  # ---- environments -------------------------------------------------------------------
  # One Puppet environment (and its loaders) per name and modulepath; rebuilt when the
  # file a request names (a function or type loaded from it before) has changed since. One
  # stat per request, of that file only.
  def self.environment(spec, file)
    key = [spec['name'], spec['modulepath'], spec['dir']]
    seen = @stamps[key]
    @envs.delete(key) if file && seen&.key?(file) && (File.mtime(file) rescue nil) != seen[file]
    @envs[key] ||= begin
      @stamps[key] = {}
      env = Puppet::Node::Environment.create(spec['name'].to_sym, spec['modulepath'])
      env.modules.each do |m|
        lib = File.join(m.path, 'lib')
        $LOAD_PATH.push(lib) if File.directory?(lib) && !$LOAD_PATH.include?(lib)
      end
      # With the environment's directory, Puppet's loaders also see its own functions
      # (`environment::x` in <env>/lib/puppet/functions and <env>/functions).
      ctx = { current_environment: env }
      dir = spec['dir']
      if dir && File.basename(dir) == spec['name'] && File.directory?(dir)
        ctx[:environments] = Puppet::Environments::Directories.new(File.dirname(dir), [])
      end
      Puppet.override(ctx) { [env, Puppet::Pops::Loaders.new(env)] }
    end
    @key = key
    @envs[key]
  end

  def self.note_file(file)
    @stamps[@key][file] ||= (File.mtime(file) rescue nil) if file
  end

  # Runs the block with the caller's scope; a 4.x function's closure scope (where its
  # `call_function` and `closure_scope` lookups go) is Puppet's top scope.
  def self.in_env(spec, vars = nil, file = nil)
    env, loaders = environment(spec, file)
    @loaders = loaders
    scope = Scope.new(env, vars, 'caller')
    top = Scope.new(env, nil, 'top')
    Puppet.override(current_environment: env, loaders: loaders, global_scope: top) { yield env, loaders, scope }
  end

  # ---- requests -----------------------------------------------------------------------
  def self.serve(m)
    id = m['id']
    case m['op']
    when 'call' then answer(id) { call(m) }
    when 'erb' then answer(id) { erb(m) }
    when 'type' then answer(id) { type_info(m) }
    when 'ping' then write('id' => id, 'op' => 'result', 'value' => Puppet.version)
    when 'shutdown' then exit!(0)
    else write('id' => id, 'op' => 'error', 'class' => 'ProtocolError', 'message' => "unknown request #{m['op'].inspect}")
    end
  end

  def self.answer(id)
    value = encode(yield)
    write('id' => id, 'op' => 'result', 'value' => value)
  rescue Exception => e # rubocop:disable Lint/RescueException -- a module's code may raise anything
    raise if e.is_a?(SystemExit)
    write(error(id, e))
  end

  def self.error(id, e)
    frame = (e.backtrace || []).find { |l| l.include?('/lib/puppet/') && !l.start_with?(PUPPET_LIB) || l.start_with?('(erb)') || l.include?('.erb:') }
    file, line = frame&.match(/\A(.*?):(\d+)/)&.captures
    msg = e.is_a?(Remote) ? e.message : e.message.to_s
    { 'id' => id, 'op' => 'error', 'class' => e.class.name, 'message' => msg.delete("\0"),
      'file' => file, 'line' => line&.to_i, 'remote' => e.is_a?(Remote) }
  end
  PUPPET_LIB = File.dirname(Puppet.method(:version).source_location[0])

  def self.call(m)
    in_env(m['env'], nil, m['file']) do |env, loaders, scope|
      note_file(m['file'])
      args = decode(m['args'])
      if m['kind'] == '3x'
        method = Puppet::Parser::Functions.function(m['name'], env)
        raise Puppet::ParseError, "Unknown function: '#{m['name']}'" unless method
        # 3.x functions see values as Puppet's 3.x runtime gives them: undef as '' at the
        # top, nil when nested; regexps, versions, time values and binaries as strings.
        args = Puppet::Pops::Evaluator::Runtime3FunctionArgumentConverter.map_args(args, scope, '')
        scope.send(method, args)
      else
        f = loaders.private_environment_loader.load(:function, m['name'])
        raise Puppet::ParseError, "Unknown function: '#{m['name']}'" unless f
        block = m['lambda'] && proxy_lambda(m['lambda'])
        f.call(scope, *args, &block)
      end
    end
  end

  # A Ruby lambda of the Puppet lambda's arity; calling it calls the lambda in troupe.
  def self.proxy_lambda(arity)
    case arity
    when 0 then ->() { Troupe.callback('call_lambda', 'args' => []) }
    when 1 then ->(a) { Troupe.callback('call_lambda', 'args' => [encode(a)]) }
    when 2 then ->(a, b) { Troupe.callback('call_lambda', 'args' => [encode(a), encode(b)]) }
    when 3 then ->(a, b, c) { Troupe.callback('call_lambda', 'args' => [a, b, c].map { |x| encode(x) }) }
    else ->(*a) { Troupe.callback('call_lambda', 'args' => a.map { |x| encode(x) }) }
    end
  end

  # A module's resource type as Puppet's Ruby builds it: its attributes, namevars and
  # title patterns (nil when no module ships it).
  def self.type_info(m)
    in_env(m['env'], nil, m['file']) do |_env, _loaders, _scope|
      note_file(m['file'])
      t = Puppet::Type.type(m['name'].to_sym)
      next nil unless t
      {
        'attributes' => (t.parameters + t.properties.map(&:name)).map(&:to_s).uniq,
        'key_attributes' => t.key_attributes.map(&:to_s),
        'title_patterns' => t.title_patterns.map { |re, procs| [re.source, procs.map { |p| p[0].to_s }] },
      }
    end
  end

  def self.erb(m)
    in_env(m['env'], decode(m['vars'])) do |_env, _loaders, scope|
      w = Puppet::Parser::TemplateWrapper.new(scope)
      w.instance_variable_set(:@__file__, m['file'])
      w.result(m['source'])
    end
  end

  # The compile's scope as a Ruby function sees it: everything is asked of troupe.
  class Scope < Puppet::Parser::Scope
    # `where`: 'caller' (the scope the function was called from) or 'top'.
    attr_reader :troupe_where

    def initialize(env, vars, where)
      @troupe_env = env
      @troupe_vars = vars
      @troupe_where = where
      extend_with_functions_module
    end

    def ask(what, payload = {})
      Troupe.callback(what, payload.merge('scope' => @troupe_where))
    end

    def environment
      @troupe_env
    end

    def compiler
      Compiler.new(@troupe_env)
    end

    def catalog
      Catalog.new
    end

    def lookupvar(name, _options = {})
      ask('lookupvar', 'name' => name)
    end

    def [](name, _options = {})
      lookupvar(name)
    end

    def exist?(name)
      ask('exist', 'name' => name)
    end

    def include?(name)
      exist?(name)
    end

    def to_hash(_recursive = true, _include_undef = false)
      @troupe_vars || ask('variables')
    end

    def findresource(type, title = nil)
      type, title = type.to_s.match(/\A(.+?)\[(.*)\]\z/m)&.captures || [type, title] if title.nil?
      r = ask('findresource', 'type' => type.to_s, 'title' => title.to_s)
      r && Puppet::Resource.new(r['type'], r['title'], parameters: r['parameters'])
    end

    def call_function(name, args, &block)
      raise Puppet::ParseError, 'troupe: a Ruby block passed to call_function is not supported' if block
      ask('call_function', 'name' => name.to_s, 'args' => Troupe.encode(args))
    end

    def method_missing(m, *a, &b)
      name = m.to_s[/\Afunction_(.+)\z/, 1]
      return super unless name
      raise ArgumentError, "#{m}(): expects its arguments as one Array" unless a.size == 1 && a[0].is_a?(Array)
      ask('call_function', 'name' => name, 'args' => Troupe.encode(a[0]), 'legacy' => true)
    end

    def respond_to_missing?(m, p = false)
      m.to_s.start_with?('function_') || super
    end

    def to_s
      'Scope(troupe)'
    end
  end

  # `scope.compiler.environment` (get_module_path and friends).
  Compiler = Struct.new(:environment)

  # `scope.catalog.resources`, `classes`, `tags`: asked of troupe.
  class Catalog
    def resources
      Troupe.callback('catalog_resources').map { |r| Puppet::Resource.new(r['type'], r['title'], parameters: r['parameters']) }
    end

    def resource(type, title = nil)
      Troupe.callback('findresource', 'type' => type.to_s, 'title' => title.to_s)&.then { |r| Puppet::Resource.new(r['type'], r['title'], parameters: r['parameters']) }
    end

    def classes
      Troupe.callback('classes')
    end

    def tags
      []
    end
  end

  # Every function a Ruby function calls is called by troupe, which knows the native,
  # Puppet-language and Ruby ones and how Puppet resolves them.
  module CallFunction
    def internal_call_function(scope, name, args, &block)
      raise Puppet::ParseError, "troupe: a Ruby block passed to call_function('#{name}') is not supported" if block
      where = scope.respond_to?(:troupe_where) ? scope.troupe_where : 'top'
      Troupe.callback('call_function', 'name' => name.to_s, 'args' => Troupe.encode(args), 'scope' => where)
    end
  end
  Puppet::Pops::Functions::Function.prepend(CallFunction)

  # Puppet's log messages (warnings, deprecations, notices) go to troupe.
  Puppet::Util::Log.newdesttype :troupe do
    def handle(msg)
      Troupe.write('op' => 'log', 'level' => msg.level.to_s, 'message' => msg.message.to_s)
    end
  end
  Puppet::Util::Log.newdestination(:troupe)
  Puppet::Util::Log.level = :notice
end

Troupe.write('op' => 'hello', 'puppet' => Puppet.version, 'ruby' => RUBY_VERSION, 'pid' => Process.pid)
loop { Troupe.serve(Troupe.read) }
