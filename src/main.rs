fn main() {
    println!("belfry");
}
