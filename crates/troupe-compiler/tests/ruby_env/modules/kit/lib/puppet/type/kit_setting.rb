# A setting in a section of an INI-like file: two namevars, the title read as
# "section:key" or "key", and properties made by a loop (so only running the code tells).
Puppet::Type.newtype(:kit_setting) do
  ensurable

  def self.title_patterns
    [
      [/^([^:]+):(.+)$/, [[:section], [:key]]],
      [/^(.*)$/, [[:key]]],
    ]
  end

  newparam(:section, namevar: true)
  newparam(:key, namevar: true)
  %w[value comment].each { |p| newproperty(p.to_sym) }
end
